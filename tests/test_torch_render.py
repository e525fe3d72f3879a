"""synthtumor.torch: the batched torch renderer against the NumPy one, on the same params.

The contract (issue 9, item 3): for the same params, the tumour labels agree with
``synthtumor.apply`` (IoU >= 0.98 per tumour) and the image differs by less than 2 HU mean
absolute inside each tumour's box. Devices: the CPU always, CUDA where present.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

import synthtumor
from _volumes import sample_on
from synthtumor import TumorConfig, apply, liver_statistics, sample, tumor_box
from synthtumor.adapters._common import LiverTooSmallWarning
from synthtumor.io import load_scan
from synthtumor.phantom import make_phantom
from synthtumor.postprocess import warp_linear as numpy_warp_linear
from synthtumor.torch import crop_seeds, render_batch, synthesize_batch
from synthtumor.torch._ops import gaussian_blur, warp_linear

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
SIZES = ["tiny", "small", "medium", "large"]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """One torch thread: on the shared CI cores two threads made these small ops 10-20x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def crop_phantom():
    """A 1.5 x 1.5 x 2 mm phantom of 80 x 80 x 48 voxels: every size fits its liver."""
    return make_phantom(shape=(80, 80, 48), rng=0)


def _agreement(reference, image: np.ndarray, label: np.ndarray, params):
    """Per tumour, (IoU of the tumour labels, mean |HU difference|) inside its box."""
    scores = []
    for spec in params.tumors:
        lower, upper = tumor_box(spec, params)
        box = tuple(slice(a, b) for a, b in zip(lower, upper, strict=True))
        expected, found = reference.label[box] == 2, label[box] == 2
        iou = (expected & found).sum() / (expected | found).sum()
        difference = np.abs(reference.image[box].astype(np.float64) - image[box]).mean()
        scores.append((float(iou), float(difference)))
    return scores


def _render_one(image: np.ndarray, mask: np.ndarray, params, device: str):
    result = render_batch(
        torch.from_numpy(image)[None].to(device), torch.from_numpy(mask)[None].to(device), [params]
    )
    return result.images[0].cpu().numpy(), result.labels[0].cpu().numpy()


def _check_matches(image: np.ndarray, mask: np.ndarray, params, device: str = "cpu") -> None:
    reference = apply(image, mask, params)
    rendered, label = _render_one(image, mask, params, device)
    assert rendered.dtype == image.dtype
    for iou, difference in _agreement(reference, rendered, label, params):
        assert iou >= 0.98
        assert difference < 2.0
    # Beyond the bounds: the two agree to float rounding everywhere (an integer scan
    # to one HU of rounding), which a missing or altered stage would break.
    tolerance = 1.0 if np.issubdtype(image.dtype, np.integer) else 0.05
    assert np.abs(reference.image.astype(np.float64) - rendered).max() <= tolerance
    # Tumours stay inside the liver in both: the background is the same voxels.
    assert np.array_equal(label == 0, reference.label == 0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", SIZES)
def test_matches_numpy_renderer_per_size(crop_phantom, size, device):
    params = sample_on(crop_phantom, size, rng=3)
    assert params.tumors
    _check_matches(crop_phantom.image, crop_phantom.liver_mask, params, device)


@pytest.mark.parametrize(
    "switches",
    [
        {"elastic_deformation": False},
        {"mass_effect": False},
        {"capsule": False},
        {"edge_blur": False},
    ],
)
def test_matches_with_each_stage_off(crop_phantom, switches):
    config = TumorConfig().replace(**switches)
    params = sample_on(crop_phantom, "medium", rng=5, config=config)
    _check_matches(crop_phantom.image, crop_phantom.liver_mask, params)


def test_matches_with_the_calls_capsule_band(crop_phantom):
    """The capsule band is the params' (one for every tumour), read by both renderers."""
    params = sample_on(crop_phantom, "small", rng=4)
    wide = dataclasses.replace(params, capsule_band=(0.2, 0.9))
    _check_matches(crop_phantom.image, crop_phantom.liver_mask, wide)
    default, _ = _render_one(crop_phantom.image, crop_phantom.liver_mask, params, "cpu")
    widened, _ = _render_one(crop_phantom.image, crop_phantom.liver_mask, wide, "cpu")
    assert np.abs(widened.astype(np.float64) - default).max() > 10.0  # a wider band, more HU


@pytest.mark.parametrize(
    ("spacing", "shape"),
    [
        ((0.7, 0.7, 5.0), (160, 160, 24)),
        ((3.0, 3.0, 3.0), (48, 48, 36)),
        ((1.0, 2.0, 0.8), (110, 60, 140)),
    ],
)
def test_matches_at_other_spacings(spacing, shape):
    """Coarse, thick-slice and mixed grids: the shape grid's sub-voxels differ per axis."""
    phantom = make_phantom(shape=shape, spacing=spacing, rng=0)
    params = sample_on(phantom, "medium", rng=1)
    _check_matches(phantom.image, phantom.liver_mask, params)


def test_integer_scan_matches_and_keeps_its_dtype():
    phantom = make_phantom(shape=(64, 64, 40), spacing=(1.0, 1.0, 1.0), dtype=np.int16, rng=1)
    params = sample_on(phantom, "small", rng=2)
    _check_matches(phantom.image, phantom.liver_mask, params)


def test_tumor_cut_by_the_crop_border_matches(crop_phantom):
    """A tumour centred two voxels from the crop's edge: its box is clipped, its label exact."""
    params = sample_on(crop_phantom, "medium", rng=2)
    liver = np.argwhere(crop_phantom.liver_mask)
    near_edge = tuple(int(v) for v in liver[np.argmin(liver[:, 0])])
    spec = dataclasses.replace(params.tumors[0], center_voxel=near_edge)
    moved = dataclasses.replace(params, tumors=(spec,))
    crop = (slice(near_edge[0] - 2, None), slice(None), slice(None))
    image = np.ascontiguousarray(crop_phantom.image[crop])
    mask = np.ascontiguousarray(crop_phantom.liver_mask[crop])
    center = (2, near_edge[1], near_edge[2])
    cut = dataclasses.replace(
        moved, shape=image.shape, tumors=(dataclasses.replace(spec, center_voxel=center),)
    )
    lower, _ = tumor_box(cut.tumors[0], cut)
    assert lower[0] == 0  # the box reaches past the crop's edge
    _check_matches(image, mask, cut)


def test_label_values_of_the_config_are_written(crop_phantom):
    config = TumorConfig().replace(organ_label=3, tumor_label=7)
    result = synthesize_batch(
        torch.from_numpy(crop_phantom.image)[None],
        torch.from_numpy(crop_phantom.liver_mask)[None],
        spacing=crop_phantom.spacing,
        size="small",
        config=config,
        generator=0,
    )
    reference = apply(crop_phantom.image, crop_phantom.liver_mask, result.params[0])
    assert set(torch.unique(result.labels).tolist()) == {0, 3, 7}
    found, expected = result.labels[0].numpy() == 7, reference.label == 7
    assert (found & expected).sum() / (found | expected).sum() >= 0.98


def test_mass_effect_moves_the_scan_as_numpy_does(crop_phantom):
    """A large tumour pushes tissue: outside its label the two renderers move the same voxels."""
    params = sample_on(crop_phantom, "large", rng=1)
    reference = apply(crop_phantom.image, crop_phantom.liver_mask, params)
    rendered, label = _render_one(crop_phantom.image, crop_phantom.liver_mask, params, "cpu")
    outside = (reference.label != 2) & (label != 2)
    moved = reference.image != crop_phantom.image
    assert (moved & outside).sum() > 1000  # the warp changed the scan around the tumour
    assert np.abs(reference.image - rendered)[outside].max() < 0.05


def test_batch_layouts_agree_and_inputs_are_untouched(crop_phantom):
    images = torch.from_numpy(crop_phantom.image)[None].repeat(2, 1, 1, 1)
    masks = torch.from_numpy(crop_phantom.liver_mask)[None].repeat(2, 1, 1, 1)
    before = images.clone()
    flat = synthesize_batch(images, masks, spacing=crop_phantom.spacing, size="small", generator=4)
    channel = synthesize_batch(
        images[:, None], masks[:, None], spacing=crop_phantom.spacing, size="small", generator=4
    )
    assert torch.equal(images, before)
    assert channel.images.shape == (2, 1, *crop_phantom.image.shape)
    assert torch.equal(channel.images[:, 0], flat.images)
    assert torch.equal(channel.labels[:, 0], flat.labels)
    assert flat.params == channel.params
    # Two crops of one scan get different draws from one generator.
    assert flat.params[0] != flat.params[1]
    assert not torch.equal(flat.labels[0], flat.labels[1])


def test_generator_seeds_reproduce_and_params_replay(crop_phantom):
    images = torch.from_numpy(crop_phantom.image)[None]
    masks = torch.from_numpy(crop_phantom.liver_mask)[None]
    first = synthesize_batch(images, masks, spacing=crop_phantom.spacing, generator=11)
    again = synthesize_batch(
        images, masks, spacing=crop_phantom.spacing, generator=torch.Generator().manual_seed(11)
    )
    other = synthesize_batch(images, masks, spacing=crop_phantom.spacing, generator=12)
    assert first.params == again.params and torch.equal(first.images, again.images)
    assert first.params != other.params
    replay = render_batch(images, masks, first.params)
    assert torch.equal(replay.images, first.images) and torch.equal(replay.labels, first.labels)
    # Each crop's params are the NumPy core's draw from its seed.
    (seed,) = crop_seeds(11, 1)
    assert first.params[0] == sample(
        crop_phantom.image, crop_phantom.liver_mask, spacing=crop_phantom.spacing, rng=seed
    )


def test_whole_scan_statistics_are_used(crop_phantom):
    stats = liver_statistics(
        crop_phantom.image, crop_phantom.liver_mask, spacing=crop_phantom.spacing, rng=0
    )
    crop = (slice(8, 72), slice(8, 72), slice(4, 44))
    images = torch.from_numpy(np.ascontiguousarray(crop_phantom.image[crop]))[None]
    masks = torch.from_numpy(np.ascontiguousarray(crop_phantom.liver_mask[crop]))[None]
    result = synthesize_batch(
        images, masks, spacing=crop_phantom.spacing, statistics=[stats], size="small", generator=0
    )
    (params,) = result.params
    assert params.parenchyma_mean_hu == stats.parenchyma_mean_hu
    _check_matches(images[0].numpy(), masks[0].numpy(), params)


def test_crop_without_liver_passes_through(crop_phantom):
    image = torch.from_numpy(crop_phantom.image)
    images = torch.stack([image, image])
    masks = torch.stack(
        [torch.from_numpy(crop_phantom.liver_mask), torch.zeros_like(image, dtype=torch.bool)]
    )
    with pytest.warns(LiverTooSmallWarning, match="no liver voxel"):
        result = synthesize_batch(
            images, masks, spacing=crop_phantom.spacing, size="tiny", generator=0
        )
    assert result.params[1] is None and result.params[0] is not None
    assert torch.equal(result.images[1], image)
    assert not result.labels[1].any()
    with pytest.raises(ValueError, match="no liver voxel"):
        synthesize_batch(
            images, masks, spacing=crop_phantom.spacing, generator=0, on_small_liver="raise"
        )


def test_realistic_mode_is_refused_with_a_clear_error(crop_phantom):
    images = torch.from_numpy(crop_phantom.image)[None]
    masks = torch.from_numpy(crop_phantom.liver_mask)[None]
    realistic = TumorConfig().replace(appearance="realistic")
    with pytest.raises(ValueError, match="paper mode only"):
        synthesize_batch(images, masks, spacing=crop_phantom.spacing, config=realistic)
    params = sample_on(crop_phantom, "tiny", rng=0, config=realistic)
    with pytest.raises(ValueError, match="paper mode only"):
        render_batch(images, masks, [params])


@pytest.mark.parametrize(
    ("images", "masks", "kwargs", "error", "match"),
    [
        (np.zeros((1, 8, 8, 8)), None, {}, TypeError, "images must be a torch.Tensor"),
        (torch.zeros(8, 8, 8), None, {}, ValueError, r"images must be \(B, 1, D, H, W\)"),
        (torch.zeros(1, 2, 8, 8, 8), None, {}, ValueError, r"images must be \(B, 1, D, H, W\)"),
        (torch.zeros(1, 8, 8, 8), torch.zeros(1, 8, 8, 9), {}, ValueError, "liver_masks must have"),
        (torch.zeros(1, 8, 8, 8), torch.full((1, 8, 8, 8), 2), {}, ValueError, "binary"),
        (torch.zeros(1, 8, 8, 8, dtype=torch.bool), None, {}, TypeError, "real numbers"),
        (torch.zeros(1, 8, 8, 8), None, {"generator": 1.5}, TypeError, "generator must be"),
        (torch.zeros(1, 8, 8, 8), None, {"statistics": [None, None]}, ValueError, "one per crop"),
        (torch.zeros(1, 8, 8, 8), None, {"on_small_liver": "skip"}, ValueError, "on_small_liver"),
        (torch.zeros(1, 8, 8, 8), None, {"spacing": (1.0, -1.0, 1.0)}, ValueError, "spacing"),
    ],
)
def test_bad_arguments_are_named(images, masks, kwargs, error, match):
    if masks is None:
        masks = torch.ones(images.shape, dtype=torch.bool)
    with pytest.raises(error, match=match):
        synthesize_batch(images, masks, **{"spacing": (1.0, 1.0, 1.0), **kwargs})


@pytest.mark.parametrize(
    ("field", "value"),
    [("periphery_hu", 30.0), ("fill", 0.3), ("exophytic", True)],
)
def test_fields_the_torch_renderer_does_not_draw_are_refused(crop_phantom, field, value):
    params = sample_on(crop_phantom, "tiny", rng=0)
    spec = dataclasses.replace(params.tumors[0], **{field: value})
    changed = dataclasses.replace(params, tumors=(spec, *params.tumors[1:]))
    with pytest.raises(ValueError, match=rf"tumors\[0\] has {field}=.*does not render"):
        render_batch(
            torch.from_numpy(crop_phantom.image)[None],
            torch.from_numpy(crop_phantom.liver_mask)[None],
            [changed],
        )
    for shared, message in [
        ({"noise_lowpass_mm": 4.0}, r"params\[0\] has noise_lowpass_mm=4\.0"),
        ({"scanner_blur": True}, r"params\[0\] has scanner_blur=True"),
        ({"push": "organ"}, r"params\[0\] has push='organ'"),
    ]:
        with pytest.raises(ValueError, match=message):
            render_batch(
                torch.from_numpy(crop_phantom.image)[None],
                torch.from_numpy(crop_phantom.liver_mask)[None],
                [dataclasses.replace(params, **shared)],
            )


def test_render_batch_checks_its_params(crop_phantom):
    images = torch.from_numpy(crop_phantom.image)[None]
    masks = torch.from_numpy(crop_phantom.liver_mask)[None]
    params = sample_on(crop_phantom, "tiny", rng=0)
    with pytest.raises(ValueError, match="one entry per crop"):
        render_batch(images, masks, [params, params])
    with pytest.raises(TypeError, match=r"params\[0\] must be a TumorParams"):
        render_batch(images, masks, [params.to_dict()])
    with pytest.raises(ValueError, match="drawn for shape"):
        render_batch(images[:, :-1], masks[:, :-1], [params])
    broken = images.clone()
    broken[0, 0, 0, 0] = math.nan
    with pytest.raises(ValueError, match="finite"):
        render_batch(broken, masks, [params])


def test_core_import_does_not_import_torch():
    code = (
        "import sys, synthtumor, synthtumor.synthesize; "
        "loaded = [m for m in sys.modules "
        "          if m.split('.')[0] == 'torch' or m == 'synthtumor.torch']; "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    source = str(Path(synthtumor.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": source}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_missing_torch_names_the_extra(monkeypatch):
    for name in [name for name in sys.modules if name.split(".")[0] == "torch"]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in [name for name in sys.modules if name.startswith("synthtumor.torch")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r"pip install 'synthtumor\[torch\]'"):
        importlib.import_module("synthtumor.torch")


# --- the torch building blocks against the libraries ------------------------------------------


def test_gaussian_blur_matches_scipy():
    volume = np.random.default_rng(0).random((11, 13, 9)).astype(np.float32)
    sigmas = (1.2, 0.0, 0.7)
    expected = ndimage.gaussian_filter(volume, sigmas, mode="constant", truncate=3.0)
    blurred = gaussian_blur(torch.from_numpy(volume), sigmas).numpy()
    np.testing.assert_allclose(blurred, expected, atol=1e-6)


def test_warp_linear_matches_numpy_and_clamps():
    rng = np.random.default_rng(1)
    values = rng.random((6, 7, 8)).astype(np.float32)
    source = rng.uniform(-1.0, 8.0, size=(3, 50)).astype(np.float32)
    expected = numpy_warp_linear(values, source)
    clamped = np.clip(source, 0, np.array(values.shape)[:, None] - 1)
    np.testing.assert_allclose(
        expected, ndimage.map_coordinates(values, clamped, order=1), atol=1e-5
    )
    warped = warp_linear(torch.from_numpy(values), torch.from_numpy(source.T.copy())).numpy()
    np.testing.assert_allclose(warped, expected, atol=1e-5)


# --- a real scan ------------------------------------------------------------------------------


def test_matches_on_a_real_scan_crop(shared_data: Path):
    """chaos-ct3 (0.73 x 0.73 x 2 mm): two crops of the liver, whole-scan statistics."""
    scan = load_scan(
        shared_data / "chaos-ct3" / "ct.nii.gz", shared_data / "chaos-ct3" / "liver.nii.gz"
    )
    stats = liver_statistics(scan.image, scan.liver_mask, spacing=scan.spacing, rng=0)
    center = np.argwhere(scan.liver_mask).mean(axis=0).round().astype(int)
    crops = []
    for shift in (-20, 20):
        corner = [center[0] + shift - 48, center[1] - 48, max(center[2] - 24, 0)]
        box = tuple(slice(c, c + n) for c, n in zip(corner, (96, 96, 48), strict=True))
        crops.append(box)
    images = torch.stack([torch.from_numpy(np.ascontiguousarray(scan.image[box])) for box in crops])
    masks = torch.stack(
        [torch.from_numpy(np.ascontiguousarray(scan.liver_mask[box])) for box in crops]
    )
    result = synthesize_batch(
        images, masks, spacing=scan.spacing, statistics=stats, size="medium", generator=0
    )
    assert result.images.dtype == images.dtype
    for index, params in enumerate(result.params):
        assert params is not None and params.tumors
        reference = apply(images[index].numpy(), masks[index].numpy(), params)
        scores = _agreement(
            reference, result.images[index].numpy(), result.labels[index].numpy(), params
        )
        assert all(iou >= 0.98 and difference < 2.0 for iou, difference in scores)
