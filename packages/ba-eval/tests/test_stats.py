"""Statistics against scipy and hand-computed values, edge cases included."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from ba_eval.stats import bootstrap_ci, cohens_dz, hedges_j, sample_std, wilcoxon_paired

# ---------------------------------------------------------------- bootstrap


def test_bootstrap_matches_hand_implementation():
    x = np.array([0.2, 0.5, 0.9, 0.4, 0.7])
    rng = np.random.default_rng(3)
    idx = rng.integers(0, x.size, size=(500, x.size))
    expected = np.percentile(x[idx].mean(axis=1), [2.5, 97.5])
    assert bootstrap_ci(x, n_resamples=500, seed=3) == pytest.approx(tuple(expected))


def test_bootstrap_close_to_scipy_percentile():
    x = np.random.default_rng(0).uniform(0, 1, 40)
    low, high = bootstrap_ci(x, n_resamples=10_000, seed=0)
    ref = sps.bootstrap(
        (x,), np.mean, method="percentile", n_resamples=10_000, rng=np.random.default_rng(1)
    ).confidence_interval
    assert low == pytest.approx(ref.low, abs=0.01) and high == pytest.approx(ref.high, abs=0.01)
    assert low < x.mean() < high


def test_bootstrap_seeded_and_degenerate():
    x = list(np.random.default_rng(1).uniform(0, 1, 12))
    assert bootstrap_ci(x, n_resamples=200, seed=5) == bootstrap_ci(x, n_resamples=200, seed=5)
    assert bootstrap_ci(x, n_resamples=200, seed=5) != bootstrap_ci(x, n_resamples=200, seed=6)
    assert bootstrap_ci([0.7], seed=0) == (0.7, 0.7)
    assert bootstrap_ci([0.3] * 6, seed=0) == pytest.approx((0.3, 0.3))
    with pytest.raises(ValueError):
        bootstrap_ci([])


def test_sample_std():
    assert sample_std([0.5]) == 0.0
    assert sample_std([1.0, 3.0]) == pytest.approx(math.sqrt(2))


# ---------------------------------------------------------------- Wilcoxon


def test_wilcoxon_hand_computed_n4():
    # |d| ranks 1..4, W+ = 1+2+3 = 6, W- = 4 -> statistic 4; subsets of {1,2,3,4} with sum <= 4:
    # {}, {1}, {2}, {3}, {4}, {1,2}, {1,3} = 7 of 16 -> two-sided p = 2 * 7/16
    w = wilcoxon_paired([1, 2, 3, -4], [0, 0, 0, 0])
    assert w.method == "exact" and w.statistic == 4.0
    assert w.p_value == pytest.approx(2 * 7 / 16)


def test_wilcoxon_small_n_all_better():
    w = wilcoxon_paired([0.5, 0.7, 0.9], [0.1, 0.2, 0.3])  # n = 3, W- = 0
    assert w.statistic == 0.0 and w.p_value == pytest.approx(2 / 8) and w.method == "exact"
    one = wilcoxon_paired([0.9], [0.1])
    assert one.method == "exact" and one.p_value == 1.0 and one.n == 1


def test_wilcoxon_exact_matches_scipy():
    rng = np.random.default_rng(7)
    a, b = rng.uniform(0, 1, 20), rng.uniform(0, 1, 20)
    w = wilcoxon_paired(a, b)
    ref = sps.wilcoxon(a - b, method="exact")
    assert w.method == "exact"
    assert (w.statistic, w.p_value) == pytest.approx((ref.statistic, ref.pvalue))
    assert w.zero_method == "wilcox" and w.correction is False and w.alternative == "two-sided"


def test_wilcoxon_all_zero_differences():
    w = wilcoxon_paired([0.5, 0.25, 1.0], [0.5, 0.25, 1.0])
    assert w.statistic is None and w.p_value == 1.0 and w.method == "none"
    assert "all 3 paired differences are zero" in w.note


def test_wilcoxon_float_noise_is_zero():
    w = wilcoxon_paired([0.1 + 0.2, 0.7], [0.3, 0.7])
    assert w.method == "none" and w.n_nonzero == 0


def test_wilcoxon_ties_small_n_is_permutation_like_scipy():
    ref = np.zeros(6)
    cand = np.array([0.1, 0.1, 0.2, -0.1, 0.3, 0.0])  # ties and a zero
    w = wilcoxon_paired(cand, ref)
    assert w.method == "permutation" and w.n_nonzero == 5
    expect = sps.wilcoxon(cand, method=sps.PermutationMethod())
    assert (w.statistic, w.p_value) == pytest.approx((expect.statistic, expect.pvalue))
    assert "zero and tied" in w.note


def test_wilcoxon_ties_large_n_is_asymptotic():
    rng = np.random.default_rng(2)
    d = np.round(rng.normal(0.05, 0.1, 30), 1)  # many ties after rounding
    w = wilcoxon_paired(d, np.zeros_like(d))
    expect = sps.wilcoxon(d, method="asymptotic")
    assert w.method == "asymptotic"
    assert (w.statistic, w.p_value) == pytest.approx((expect.statistic, expect.pvalue))
    assert 0 <= w.p_value <= 1


def test_wilcoxon_large_n_is_asymptotic():
    rng = np.random.default_rng(4)
    a, b = rng.uniform(0, 1, 60), rng.uniform(0, 1, 60)
    w = wilcoxon_paired(a, b)
    assert w.method == "asymptotic" and "n > 50" in w.note
    assert w.p_value == pytest.approx(sps.wilcoxon(a - b, method="asymptotic").pvalue)


def test_wilcoxon_one_model_always_zero():
    cand = [0.0] * 8
    ref = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    w = wilcoxon_paired(cand, ref)
    assert w.method == "exact" and w.statistic == 0.0
    assert w.p_value == pytest.approx(2 / 2**8)


def test_wilcoxon_rejects_unequal_lengths():
    with pytest.raises(ValueError):
        wilcoxon_paired([1, 2], [1])


# ---------------------------------------------------------------- Cohen's d_z / Hedges


def test_cohens_dz_hand_computed():
    es = cohens_dz([0.6, 0.7, 0.8], [0.5, 0.5, 0.5])  # d = .1 .2 .3, mean .2, sd .1
    assert es.mean_diff == pytest.approx(0.2) and es.sd_diff == pytest.approx(0.1)
    assert es.cohens_dz == pytest.approx(2.0)
    assert hedges_j(3) == pytest.approx(1 - 3 / 7)
    assert es.hedges_gz == pytest.approx(2.0 * 4 / 7)


def test_cohens_dz_matches_numpy_formula():
    rng = np.random.default_rng(9)
    a, b = rng.uniform(0, 1, 15), rng.uniform(0, 1, 15)
    d = a - b
    es = cohens_dz(a, b)
    assert es.cohens_dz == pytest.approx(d.mean() / d.std(ddof=1), rel=1e-9)
    assert es.hedges_gz == pytest.approx((1 - 3 / (4 * 14 - 1)) * d.mean() / d.std(ddof=1), rel=1e-9)


def test_cohens_dz_identical_models():
    es = cohens_dz([0.4, 0.9], [0.4, 0.9])
    assert es.cohens_dz == 0.0 and es.mean_diff == 0.0
    assert es.hedges_gz is None  # n = 2


def test_cohens_dz_zero_spread_nonzero_mean_is_null_with_reason():
    es = cohens_dz([1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0])
    assert es.cohens_dz is None and es.hedges_gz is None and es.sd_diff == 0.0
    assert any("infinite" in n for n in es.notes)


def test_cohens_dz_single_pair():
    assert cohens_dz([0.5], [0.5]).cohens_dz == 0.0
    es = cohens_dz([0.9], [0.5])
    assert es.cohens_dz is None and es.sd_diff is None


def test_hedges_j_small_n():
    assert hedges_j(2) is None and hedges_j(1) is None
    assert hedges_j(25) == pytest.approx(1 - 3 / 95)
