"""The texture's Gaussian noise is standard normal, seeded, and of any shape."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from synthtumor.texture import standard_normal


def test_samples_pass_a_kolmogorov_smirnov_test_for_the_standard_normal():
    samples = standard_normal(np.random.default_rng(0), (60, 60, 60)).astype(np.float64)
    assert stats.kstest(samples.ravel(), "norm").pvalue > 0.01
    # The tails are there, with the normal's frequency (beyond 3 sigma: 0.27 %).
    assert 0.0022 < np.mean(np.abs(samples) > 3.0) < 0.0032
    # Box-Muller pairs are independent: neighbours are uncorrelated.
    flat = samples.ravel()
    assert abs(np.corrcoef(flat[:-1], flat[1:])[0, 1]) < 0.01


@pytest.mark.parametrize("shape", [(1,), (3, 5, 7), (2, 1, 1), (0, 4)])
def test_any_shape_and_the_same_seed_gives_the_same_samples(shape):
    first = standard_normal(np.random.default_rng(5), shape)
    second = standard_normal(np.random.default_rng(5), shape)
    assert first.shape == shape and first.dtype == np.float32
    assert np.array_equal(first, second)
    assert np.all(np.isfinite(first))


def test_different_seeds_give_different_samples():
    first = standard_normal(np.random.default_rng(1), (10, 10))
    second = standard_normal(np.random.default_rng(2), (10, 10))
    assert not np.array_equal(first, second)
