"""The matrix form of the Gaussian filters gives SciPy's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from synthtumor.postprocess import local_mean
from synthtumor.separable import (
    apply_separable,
    block_mean,
    coarse_gaussian_blur,
    coarse_steps,
    gaussian_blur,
    gaussian_matrix,
    gaussian_weights,
)

sigmas = st.one_of(st.just(0.0), st.floats(min_value=0.05, max_value=6.0))


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 40), sigma=sigmas, truncate=st.sampled_from([2.5, 3.0, 4.0]))
def test_gaussian_matrix_is_scipys_filter_on_each_unit_vector(n, sigma, truncate):
    for mode in ("constant", "nearest"):
        matrix = gaussian_matrix(n, sigma, truncate=truncate, mode=mode)
        if sigma > 0:
            expected = ndimage.gaussian_filter1d(
                np.eye(n), sigma, axis=0, mode=mode, truncate=truncate
            )
        else:
            expected = np.eye(n)
        np.testing.assert_allclose(matrix, expected, rtol=0, atol=1e-12)


def test_nearest_mode_keeps_constants_and_constant_mode_loses_mass_at_the_ends():
    nearest = gaussian_matrix(7, 2.0, truncate=3.0, mode="nearest")
    constant = gaussian_matrix(7, 2.0, truncate=3.0, mode="constant")
    np.testing.assert_allclose(nearest.sum(axis=1), 1.0)
    assert constant.sum(axis=1)[0] < 0.9
    assert np.isclose(gaussian_weights(2.0, 3.0).sum(), 1.0)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 30), st.integers(1, 30), st.integers(1, 30)),
    sigma=st.tuples(sigmas, sigmas, sigmas),
    seed=st.integers(0, 2**16),
)
def test_gaussian_blur_matches_scipy(shape, sigma, seed):
    box = np.random.default_rng(seed).random(shape, dtype=np.float32)
    for mode in ("constant", "nearest"):
        blurred = gaussian_blur(box, list(sigma), truncate=3.0, mode=mode)
        expected = ndimage.gaussian_filter(box, sigma, mode=mode, truncate=3.0)
        assert blurred.dtype == np.float32 and blurred.shape == shape
        np.testing.assert_allclose(blurred, expected, rtol=0, atol=1e-5)


def test_gaussian_blur_of_a_big_box_matches_scipy_too():
    box = np.zeros((170, 12, 9), np.float32)
    box[85, 6, 4] = 1.0
    blurred = gaussian_blur(box, [1.5, 1.0, 0.5], truncate=3.0)
    expected = ndimage.gaussian_filter(box, [1.5, 1.0, 0.5], mode="constant", truncate=3.0)
    np.testing.assert_allclose(blurred, expected, rtol=0, atol=1e-7)


def test_gaussian_blur_leaves_its_input_alone():
    box = np.zeros((5, 5, 5), np.float32)
    box[2, 2, 2] = 1.0
    gaussian_blur(box, [1.0, 1.0, 1.0], truncate=3.0)
    assert box.sum() == 1.0 and box[2, 2, 2] == 1.0


def test_apply_separable_handles_a_stack_and_rectangular_matrices():
    rng = np.random.default_rng(0)
    stack = rng.random((4, 5, 6, 7))
    matrices = [rng.random((2, 5)), rng.random((3, 6)), rng.random((1, 7))]
    result = apply_separable(stack, matrices)
    expected = np.einsum("ai,bj,ck,nijk->nabc", *matrices, stack)
    assert result.shape == (4, 2, 3, 1)
    np.testing.assert_allclose(result, expected)
    np.testing.assert_allclose(apply_separable(stack[1], matrices), expected[1])


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match=r"mode must be one of .*'reflect'"):
        gaussian_matrix(4, 1.0, truncate=3.0, mode="reflect")
    big = np.zeros((200, 2, 2), np.float32)  # SciPy's path would take "reflect": refused too
    with pytest.raises(ValueError, match=r"mode must be one of .*'reflect'"):
        gaussian_blur(big, [1.0, 1.0, 1.0], truncate=3.0, mode="reflect")


def test_block_mean_is_the_mean_of_each_block_and_of_a_partial_last_one():
    volume = np.random.default_rng(0).random((2, 6, 5, 7), dtype=np.float32)
    result = block_mean(volume, (2, 1, 3))
    assert result.shape == (2, 3, 5, 3)
    expected_full = volume[:, :, :, :6].reshape(2, 3, 2, 5, 2, 3).mean(axis=(2, 5))
    np.testing.assert_allclose(result[..., :2], expected_full, rtol=1e-6)
    np.testing.assert_allclose(
        result[..., 2], volume[..., 6].reshape(2, 3, 2, 5).mean(axis=2), rtol=1e-6
    )


@pytest.mark.parametrize(
    ("shape", "sigmas"),
    [((37, 43, 31), [0.8, 2.9, 1.5]), ((30, 33, 32), [3.0, 3.0, 3.0])],
    ids=["no-coarse-axis", "box-under-32**3"],
)
def test_coarse_blur_is_scipys_exact_filter_where_nothing_is_coarsened(shape, sigmas):
    box = np.random.default_rng(1).random(shape, dtype=np.float32)
    expected = ndimage.gaussian_filter(box, sigmas, mode="nearest", truncate=3.0)
    np.testing.assert_allclose(
        coarse_gaussian_blur(box, sigmas, truncate=3.0), expected, rtol=0, atol=1e-5
    )
    assert coarse_steps([0.8, 2.9, 1.5]) == (1, 1, 1)


def _interior(shape, sigmas):
    return tuple(slice(int(3 * s), n - int(3 * s)) for n, s in zip(shape, sigmas, strict=True))


@pytest.mark.parametrize("sigmas", [(3.0, 3.0, 3.0), (4.13, 4.13, 1.5), (1.2, 6.0, 3.5)])
@pytest.mark.parametrize("shape", [(60, 60, 60), (61, 57, 43)])
def test_coarse_blur_matches_scipys_gaussian_away_from_the_ends(shape, sigmas):
    """White noise (the hardest case: all its power is in the frequencies the coarse grid
    aliases) and smoothed noise like a CT scan's; 3 sigma from the ends, where the two pad
    differently (the end block's mean against the end voxel)."""
    rng = np.random.default_rng(2)
    white = rng.standard_normal(shape).astype(np.float32)
    correlated = ndimage.gaussian_filter(white, 1.0).astype(np.float32)
    inner = _interior(shape, sigmas)
    for field, bound in ((white, 0.01), (correlated, 0.01)):
        exact = ndimage.gaussian_filter(field, sigmas, mode="nearest", truncate=3.0)
        error = coarse_gaussian_blur(field, sigmas, truncate=3.0)[inner] - exact[inner]
        assert np.sqrt(np.mean(error**2)) < bound * field.std()
    exact = ndimage.gaussian_filter(correlated, sigmas, mode="nearest", truncate=3.0)[inner]
    fast = coarse_gaussian_blur(correlated, sigmas, truncate=3.0)[inner]
    assert np.sqrt(np.mean((fast - exact) ** 2)) < 0.15 * exact.std()
    assert abs(fast.std() / exact.std() - 1.0) < 0.06


@pytest.mark.parametrize("sigmas", [(3.0, 4.5, 3.0), (4.13, 6.0, 2.0)])
def test_coarse_blur_averages_around_each_voxel_with_the_asked_variance(sigmas):
    """Each output voxel's weights are centred on it (a ramp comes out unchanged) and have the
    asked variance (a parabola x**2 comes out as x**2 + variance), away from the ends. With a
    step of 3 the interpolation's share varies within a block: -8 % to +2 % of sigma**2; SciPy's
    own kernel, cut at 3 sigma, has 1.3 % less."""
    n = 64
    x = np.arange(n) - 31.7
    for axis, sigma in enumerate(sigmas):
        shape = [1, 1, 1]
        shape[axis] = n
        inner = [32, 32, 32]
        inner[axis] = slice(int(3 * sigma) + 1, n - int(3 * sigma) - 1)
        x_inner = x[inner[axis]]
        for power in (1, 2):
            field = np.broadcast_to((x**power).reshape(shape), (n, n, n)).astype(np.float32)
            blurred = coarse_gaussian_blur(field, list(sigmas), truncate=3.0)[tuple(inner)]
            excess = blurred.astype(np.float64) - x_inner**power
            if power == 1:
                assert np.abs(excess).max() < 1e-4
            else:
                assert np.all(np.abs(excess / sigma**2 - 1.0) < 0.1), (sigma, excess)


def test_coarse_blur_keeps_constants_and_blurs_a_stack_box_by_box():
    rng = np.random.default_rng(3)
    stack = rng.random((2, 41, 40, 21), dtype=np.float32)
    stack[1] = 42.0
    blurred = coarse_gaussian_blur(stack, [3.0, 3.3, 1.0], truncate=3.0)
    np.testing.assert_allclose(blurred[1], 42.0, rtol=1e-5)
    np.testing.assert_allclose(
        blurred[0], coarse_gaussian_blur(stack[0], [3.0, 3.3, 1.0], truncate=3.0), rtol=1e-6
    )


def test_local_mean_is_scipys_normalised_convolution_inside_the_organ():
    rng = np.random.default_rng(4)
    shape = (50, 54, 30)
    image = (60.0 + ndimage.gaussian_filter(rng.standard_normal(shape), 1.0) * 40.0).astype(
        np.float32
    )
    inside = np.zeros(shape, bool)
    inside[:, :30] = True
    image[~inside] = -100.0  # fat beyond the surface must not pull the mean down
    sigmas = (3.0, 3.0, 1.5)
    weight = inside.astype(np.float64)
    expected = ndimage.gaussian_filter(image * weight, sigmas, mode="nearest", truncate=3.0)
    norm = ndimage.gaussian_filter(weight, sigmas, mode="nearest", truncate=3.0)
    expected /= np.maximum(norm, 1e-3)
    mean = local_mean(image, inside=inside, sigmas_voxels=sigmas)
    inner = (slice(9, -9), slice(9, 30), slice(5, -5))
    error = mean[inner] - expected[inner]
    assert np.abs(error).max() < 0.5  # HU, against a field of std 5 HU after the low-pass
    assert np.sqrt(np.mean(error**2)) < 0.1
    assert mean[inner].min() > 40.0
