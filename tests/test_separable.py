"""The matrix form of the Gaussian filters gives SciPy's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from synthtumor.separable import apply_separable, gaussian_blur, gaussian_matrix, gaussian_weights

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
