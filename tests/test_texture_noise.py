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


def test_samples_follow_numpys_normal_sampler():
    """Two-sample tests against Generator.standard_normal, the library's reference."""
    ours = standard_normal(np.random.default_rng(3), (400_000,)).astype(np.float64)
    numpy_normal = np.random.default_rng(4).standard_normal(400_000)
    assert stats.ks_2samp(ours, numpy_normal).pvalue > 0.01
    # Quantiles out to 3.1 sigma agree with NumPy's to within 3 standard errors of their
    # difference (0.02 at the outermost); a std 5 % off would miss by 0.15 there.
    levels = [1e-3, 0.01, 0.1, 0.5, 0.9, 0.99, 1 - 1e-3]
    np.testing.assert_allclose(
        np.quantile(ours, levels), np.quantile(numpy_normal, levels), rtol=0, atol=0.06
    )


class _ExtremeUniforms:
    """A stand-in Generator whose float32 uniforms are the extremes: u = 1 - 2**-24, then 0."""

    def random(self, size, dtype):
        uniform = np.zeros(size, dtype=dtype)
        uniform[0] = 1.0 - 2.0**-24
        return uniform


def test_the_tails_stop_at_5_8_sigma():
    """The largest float32 uniform below 1 gives the largest radius: sqrt(-2 ln 2**-24)."""
    cut = float(np.sqrt(-2.0 * np.log(2.0**-24)))
    assert cut == pytest.approx(5.77, abs=0.005)
    largest = standard_normal(_ExtremeUniforms(), (2,))  # type: ignore[arg-type]
    assert largest[0] == pytest.approx(cut, rel=1e-6)
    samples = standard_normal(np.random.default_rng(6), (2_000_000,))
    assert np.abs(samples).max() <= cut
