"""Golden outputs: a few small syntheses whose params and rendered voxels are pinned on disk.

Any change of what is drawn for a fixed seed shows here. When a change is deliberate, run
``python tests/regenerate_golden.py`` and commit the new files with the reason in the message.

A case stores its params as JSON and, for the voxels the synthesis changed, their flat indices,
image values and labels. Images compare to float32 rounding (different matrix shapes sum in
different orders), labels exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synthtumor import TumorParams, synthesize
from synthtumor.config_file import config_from_mapping
from synthtumor.phantom import Phantom, make_phantom

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
ROUNDING_HU = 1e-3


@dataclass(frozen=True)
class GoldenCase:
    """One pinned synthesis: a phantom, a size, a seed and config overrides."""

    name: str
    size: str
    seed: int
    phantom_shape: tuple[int, int, int] = (80, 80, 48)
    phantom_spacing: tuple[float, float, float] = (3.0, 3.0, 4.0)
    dtype: str = "float32"
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return GOLDEN_DIR / f"{self.name}.npz"

    def phantom(self) -> Phantom:
        return make_phantom(
            self.phantom_shape, self.phantom_spacing, dtype=np.dtype(self.dtype), rng=0
        )

    def run(
        self, phantom: Phantom | None = None
    ) -> tuple[Phantom, np.ndarray, np.ndarray, TumorParams]:
        phantom = self.phantom() if phantom is None else phantom
        image, label, params = synthesize(
            phantom.image,
            phantom.liver_mask,
            spacing=phantom.spacing,
            size=self.size,
            config=config_from_mapping(self.config),
            rng=self.seed,
        )
        return phantom, image, label, params


CASES = (
    GoldenCase("paper_mix_3mm", "mix", 0),
    GoldenCase("paper_large_3mm", "large", 1),
    GoldenCase("paper_small_1.5mm", "small", 2, (160, 160, 96), (1.5, 1.5, 2.0)),
    GoldenCase(
        "paper_medium_int16_no_push_no_capsule",
        "medium",
        3,
        dtype="int16",
        config={"mass_effect": False, "capsule": False},
    ),
    GoldenCase(
        "realistic_portal_lesion_mix_1.5mm",
        "medium",
        4,
        (160, 160, 96),
        (1.5, 1.5, 2.0),
        config={
            "appearance": "realistic",
            "phase": "portal",
            "lesion": {"metastasis": 1, "hcc": 1, "cyst": 1, "hemangioma": 1},
            "capsule_share": 1.0,
        },
    ),
    GoldenCase(
        "realistic_arterial_satellite_3mm",
        "large",
        5,
        config={
            "appearance": "realistic",
            "phase": "arterial",
            "lesion": "hcc",
            "pattern": "satellite",
        },
    ),
)


def changed_voxels(phantom: Phantom, image: np.ndarray, label: np.ndarray) -> dict[str, np.ndarray]:
    """The flat indices where image or label differ from the input, and their new values."""
    initial = phantom.liver_mask.astype(np.uint8)
    changed = (image != phantom.image) | (label != initial)
    index = np.flatnonzero(changed)
    return {
        "index": index.astype(np.int64),
        "image": image.ravel()[index],
        "label": label.ravel()[index],
    }


def write(case: GoldenCase) -> int:
    """Render `case` and store it; returns the number of changed voxels."""
    phantom, image, label, params = case.run()
    voxels = changed_voxels(phantom, image, label)
    GOLDEN_DIR.mkdir(exist_ok=True)
    np.savez_compressed(case.path, params=np.array(params.to_json()), **voxels)
    return int(voxels["index"].size)


def load(case: GoldenCase) -> tuple[TumorParams, dict[str, np.ndarray]]:
    with np.load(case.path) as stored:
        params = TumorParams.from_dict(json.loads(str(stored["params"])))
        return params, {key: stored[key] for key in ("index", "image", "label")}
