"""Format 4 of the params JSON: what every tumour of a call shares is stored once, on the params.

Formats 1-3 copied the capsule band, what the mass effect pushes and the scanner's blur into
every tumour. ``tests/golden/params_format3.json`` holds two format 3 files written by the code
before format 4 (a paper-mode call with its own capsule band; a kidney call: realistic mode with
the scanner's blur, ``push="organ"``, an exophytic tumour), with the sha256 of the image and the
label they rendered then. They must load into the params the current code draws and replay to
the same bytes; a format 3 file whose tumours disagree on a shared field is refused by name.
"""

from __future__ import annotations

import copy
import hashlib
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from synthtumor import TumorConfig, TumorParams, apply, sample
from synthtumor.params import FORMAT_VERSION
from synthtumor.phantom import make_phantom

FIXTURE = Path(__file__).resolve().parent / "golden" / "params_format3.json"
SHARED = ("capsule_band", "push", "scanner_blur")


@lru_cache(maxsize=1)
def fixture() -> dict:
    return json.loads(FIXTURE.read_text())


@lru_cache(maxsize=1)
def phantom():
    made = fixture()["phantom"]
    return make_phantom(tuple(made["shape"]), tuple(made["spacing"]), rng=made["rng"])


def case(name: str) -> dict:
    (found,) = [c for c in fixture()["cases"] if c["name"] == name]
    return copy.deepcopy(found)


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


CASE_NAMES = [c["name"] for c in fixture()["cases"]]


def test_the_fixture_is_format_3_with_per_tumor_copies():
    """What the tests below read really is the old layout (no test of an empty fixture)."""
    assert FORMAT_VERSION == 4
    for name in CASE_NAMES:
        data = case(name)["params"]
        assert data["format_version"] == 3 and data["tumors"]
        assert not set(SHARED) & set(data)
        assert all({"capsule_band", "push", "scanner_blur_mm"} <= set(t) for t in data["tumors"])


@pytest.mark.parametrize("name", CASE_NAMES)
def test_a_format_3_file_replays_to_the_same_bytes(name):
    stored = case(name)
    params = TumorParams.from_dict(stored["params"])
    image, label, _ = apply(phantom().image, phantom().liver_mask, params)
    assert sha256(image) == stored["image_sha256"]
    assert sha256(label) == stored["label_sha256"]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_a_format_3_file_loads_into_the_params_drawn_now(name):
    """Same seed, same draw: the shared fields land on the params, nothing else changes."""
    stored = case(name)
    made = stored["made_with"]
    config = TumorConfig(**{key: tuple(value) for key, value in made["config"].items()})
    drawn = sample(
        phantom().image,
        phantom().liver_mask,
        spacing=phantom().spacing,
        organ=made["organ"],
        size=made["size"],
        config=config,
        rng=made["seed"],
    )
    loaded = TumorParams.from_dict(stored["params"])
    assert loaded == drawn
    first = stored["params"]["tumors"][0]
    assert loaded.capsule_band == tuple(first["capsule_band"])
    assert loaded.push == first["push"]
    assert loaded.scanner_blur_mm == tuple(first["scanner_blur_mm"])


def test_the_fixture_covers_every_shared_field():
    kidney = TumorParams.from_dict(case("kidney_realistic")["params"])
    paper = TumorParams.from_dict(case("paper_capsule_band")["params"])
    assert kidney.push == "organ" and kidney.scanner_blur and kidney.scanner_blur_mm == (2, 2, 2.5)
    assert any(spec.exophytic for spec in kidney.tumors)  # drawn per tumour: it stays there
    assert not all(spec.exophytic for spec in kidney.tumors)
    assert paper.capsule_band == (0.3, 0.8) and not paper.scanner_blur
    assert len({spec.capsule_blur_mm for spec in paper.tumors}) > 1  # a range: per tumour


@pytest.mark.parametrize("name", CASE_NAMES)
def test_format_4_stores_the_shared_fields_once(name):
    params = TumorParams.from_dict(case(name)["params"])
    data = json.loads(params.to_json())
    assert data["format_version"] == 4
    assert {key: data[key] for key in SHARED} == {
        "capsule_band": list(params.capsule_band),
        "push": params.push,
        "scanner_blur": params.scanner_blur,
    }
    for tumor in data["tumors"]:
        assert not {"capsule_band", "push", "scanner_blur_mm"} & set(tumor)
    assert TumorParams.from_dict(data) == params


def _format_3(name: str = "kidney_realistic") -> dict:
    return case(name)["params"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("capsule_band", [0.3, 0.7]), ("push", "surroundings"), ("scanner_blur_mm", [0.0] * 3)],
)
def test_a_format_3_file_whose_tumors_disagree_is_refused_by_name(field, value):
    data = _format_3()
    assert data["tumors"][1][field] != value
    data["tumors"][1][field] = value
    with pytest.raises(ValueError, match=rf"tumors\[1\]\.{field} is .* but tumors\[0\]\.{field}"):
        TumorParams.from_dict(data)


def test_a_format_3_scanner_blur_that_is_not_the_spacings_is_refused():
    data = _format_3()
    for tumor in data["tumors"]:
        tumor["scanner_blur_mm"] = [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=r"tumors\[0\]\.scanner_blur_mm is \[1\.0, 1\.0, 1\.0\]"):
        TumorParams.from_dict(data)


def test_format_3_zeros_mean_no_scanner_blur_and_a_missing_push_the_papers():
    data = _format_3()
    for tumor in data["tumors"]:
        tumor["scanner_blur_mm"] = [0.0, 0.0, 0.0]
        del tumor["push"]
    params = TumorParams.from_dict(data)
    assert not params.scanner_blur and params.push == "surroundings"


def test_a_format_3_tumor_without_its_capsule_band_is_refused():
    data = _format_3()
    del data["tumors"][1]["capsule_band"]
    with pytest.raises(ValueError, match=r"tumors\[1\]: .*missing \['capsule_band'\]"):
        TumorParams.from_dict(data)


def test_a_format_3_file_with_format_4_fields_is_refused():
    data = _format_3()
    data["push"] = "organ"
    with pytest.raises(ValueError, match="push is a field of the params from format 4 on"):
        TumorParams.from_dict(data)


def test_a_format_3_file_without_tumors_takes_the_defaults():
    data = _format_3()
    data["tumors"] = []
    params = TumorParams.from_dict(data)
    assert (params.capsule_band, params.push, params.scanner_blur) == (
        (0.4, 0.7),
        "surroundings",
        False,
    )


def test_a_format_4_tumor_with_a_shared_field_is_refused_by_name():
    data = TumorParams.from_dict(_format_3()).to_dict()
    data["tumors"][0]["capsule_band"] = [0.4, 0.7]
    with pytest.raises(ValueError, match=r"tumors\[0\]: capsule_band is no longer a tumour's"):
        TumorParams.from_dict(data)
