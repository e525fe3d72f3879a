"""Random, valid-looking but perturbed params JSON through ``TumorParams.from_json`` + ``apply``.

Every example ends one of two ways: a ValueError/TypeError whose message names a field, or a
rendered scan of the input's dtype, finite, whose label map holds only the params' three label
values ({0, 1, 2} unless the perturbation chose other valid ones). Anything else (NaN voxels,
an unlabelled tumour value, a crash from deep inside, a hang past the deadline) fails.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from functools import lru_cache

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthtumor import TumorParams, apply, sample
from synthtumor.params import TumorSpec
from synthtumor.phantom import make_phantom

SHAPE, SPACING = (32, 32, 20), (5.0, 5.0, 6.0)
PARAMS_FIELDS = [field.name for field in dataclasses.fields(TumorParams)]
SPEC_FIELDS = [field.name for field in dataclasses.fields(TumorSpec)]
NAMED = {*PARAMS_FIELDS, *SPEC_FIELDS, "format_version", "data", "tumors"}
SCALABLE = [  # the tumour's numbers, scaled by up to 3 for variations that mostly stay valid
    "radius_mm",
    "semi_axes_mm",
    "deformation_mm",
    "edge_blur_mm",
    "texture_mean_hu",
    "texture_std_hu",
    "texture_scale",
    "texture_blur_mm",
    "mass_effect_radius_factor",
    "mass_effect_intensity",
    "capsule_blur_mm",
    "capsule_contrast_hu",
]
SCALABLE_PARAMS = ["capsule_band"]  # the call's numbers that every tumour shares


@lru_cache(maxsize=2)
def tiny_scan(dtype: str):
    phantom = make_phantom(SHAPE, SPACING, dtype=np.dtype(dtype), rng=0)
    return phantom.image, phantom.liver_mask


@lru_cache(maxsize=1)
def valid_data() -> str:
    image, liver = tiny_scan("float32")
    return sample(image, liver, spacing=SPACING, size="tiny", rng=2).to_json()


numbers = st.one_of(
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 0.0, -1.0, 1e300, 1e9, 2**63]),
    st.floats(min_value=-1e4, max_value=1e4, allow_nan=False),
    st.integers(min_value=-10, max_value=300),
)
wrong_types = st.sampled_from(["0.5", "", None, True, False, [], {}, [1.0], [1, 2, 3, 4], "tiny"])
values = st.one_of(numbers, wrong_types, st.lists(numbers, min_size=2, max_size=3))

DELETE, EXTRA, SCALE = "<delete>", "<extra>", "<scale>"


@st.composite
def perturbation(draw):
    """(where, field, value): where is "params" or a tumour index; value may be a sentinel
    (delete the field, add an unknown one) or ``(SCALE, factor)``: the valid value scaled."""
    if draw(st.booleans()):
        where, field = "params", draw(st.sampled_from([*PARAMS_FIELDS, "format_version"]))
    else:
        where, field = draw(st.integers(0, 2)), draw(st.sampled_from(SPEC_FIELDS))
    scaled = st.tuples(st.just(SCALE), st.floats(min_value=0.0, max_value=3.0))
    value = draw(st.one_of(values, scaled, scaled, st.sampled_from([DELETE, EXTRA])))
    return where, field, value


def _scaled(value: object, factor: float) -> object:
    if isinstance(value, bool) or value is None or isinstance(value, str | dict):
        return value
    if isinstance(value, list):
        return [_scaled(item, factor) for item in value]
    if isinstance(value, int):
        return int(value * factor)
    return float(value) * factor


def perturbed_text(changes) -> str:
    data = json.loads(valid_data())
    for where, field, value in changes:
        tumors = data.get("tumors")
        if where == "params":
            target = data
        elif isinstance(tumors, list) and tumors and isinstance(tumors[where % len(tumors)], dict):
            target = tumors[where % len(tumors)]
        else:
            continue  # an earlier change replaced the tumours themselves
        if value == DELETE:
            target.pop(field, None)
        elif value == EXTRA:
            target[f"{field}_extra"] = 1
        elif isinstance(value, tuple):  # (SCALE, factor): a plausible variation of the value
            target[field] = _scaled(target.get(field), value[1])
        else:
            target[field] = value
    return json.dumps(data)


FUZZ = settings(
    max_examples=200,
    deadline=timedelta(seconds=5),
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
dtypes = st.sampled_from(["float32", "int16"])


def check_outcome(changes, dtype: str) -> bool:
    """Refused by name, or rendered cleanly; True when it rendered."""
    image, liver = tiny_scan(dtype)
    try:
        params = TumorParams.from_json(perturbed_text(changes))
        with np.errstate(all="raise"):  # the core's contract: no overflow, no invalid value
            result = apply(image, liver, params)
    except (ValueError, TypeError) as error:
        message = str(error)
        assert any(name in message for name in NAMED), message
        return False
    assert result.image.dtype == image.dtype and result.image.shape == image.shape
    assert np.isfinite(result.image).all()
    labels = {params.background_label, params.organ_label, params.tumor_label}
    assert set(np.unique(result.label).tolist()) <= labels
    return True


@FUZZ
@given(changes=st.lists(perturbation(), min_size=1, max_size=3), dtype=dtypes)
def test_perturbed_params_are_refused_by_name_or_render_cleanly(changes, dtype):
    check_outcome(changes, dtype)


scaling = st.tuples(st.just(SCALE), st.floats(min_value=0.0, max_value=3.0))
plausible = st.one_of(
    st.tuples(st.integers(0, 2), st.sampled_from(SCALABLE), scaling),
    st.tuples(st.just("params"), st.sampled_from(SCALABLE_PARAMS), scaling),
)


@settings(FUZZ, max_examples=100)
@given(changes=st.lists(plausible, min_size=1, max_size=3), dtype=dtypes)
def test_plausible_variations_render_cleanly_or_are_refused_by_name(changes, dtype):
    check_outcome(changes, dtype)
