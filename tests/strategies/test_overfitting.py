"""PSR, DSR, MinTRL and PBO against the papers' worked example, brute force and Monte Carlo."""

from __future__ import annotations

import math
from itertools import combinations
from statistics import NormalDist

import numpy as np
import pytest

from strategies import overfitting as ov


def test_dsr_reproduces_the_papers_numerical_example() -> None:
    """Bailey & López de Prado (2014), "A numerical example": N = 100 trials whose annualised
    Sharpe ratios have variance 1/2, the best at 2.5 annualised, T = 1250 daily returns with
    skewness -3 and kurtosis 10, 250 days a year -> E[max SR] = 0.1132 per day, DSR = 0.9004."""
    sr = 2.5 / math.sqrt(250)
    var = 0.5 / 250
    assert ov.expected_max_sharpe(100, var) == pytest.approx(0.1132, abs=5e-5)
    assert ov.dsr_from_stats(sr, 1250, -3.0, 10.0, 100, var) == pytest.approx(0.9004, abs=5e-5)
    # the same z by hand: (SR - SR0) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR^2)
    sr0 = ov.expected_max_sharpe(100, var)
    z = (sr - sr0) * math.sqrt(1249) / math.sqrt(1 + 3 * sr + 9 / 4 * sr * sr)
    assert ov.dsr_from_stats(sr, 1250, -3.0, 10.0, 100, var) == pytest.approx(NormalDist().cdf(z))


def test_expected_max_sharpe_matches_monte_carlo_of_n_skillless_trials() -> None:
    # N trials whose SR estimates are N(0, V): the mean of their maximum vs the approximation
    rng = np.random.default_rng(3)
    for n in (10, 100, 1000):
        draws = rng.normal(0.0, 0.05, (4000, n)).max(axis=1)
        assert ov.expected_max_sharpe(n, 0.05**2) == pytest.approx(draws.mean(), rel=0.03)
    assert ov.expected_max_sharpe(1, 1.0) == 0.0


def test_psr_is_calibrated_under_skewed_fat_tailed_returns() -> None:
    """When the true Sharpe equals the benchmark, PSR(benchmark) is ~uniform: it exceeds 0.95
    in ~5 % of samples. Returns: a mirrored exponential (skewness -2, kurtosis 9, std 1) with
    a known true SR of 0.2 per period. The normal-law formula (skew 0, kurtosis 3) understates
    the estimate's error and passes a skill-less strategy twice as often."""
    rng = np.random.default_rng(11)
    t, sims, true_sr = 500, 4000, 0.2
    x = -(rng.exponential(1.0, (sims, t)) - 1.0) + true_sr
    psr = np.array([ov.probabilistic_sharpe(row, sr_benchmark=true_sr) for row in x])
    assert np.mean(psr > 0.95) == pytest.approx(0.05, abs=0.012)
    assert np.mean(psr < 0.05) == pytest.approx(0.05, abs=0.012)
    est = np.array([ov.sharpe_ratio(row) for row in x])
    naive = np.array([ov.psr_from_stats(e, t, 0.0, 3.0, true_sr) for e in est])
    assert np.mean(naive > 0.95) > 0.08
    # the Sharpe estimate's spread agrees with the non-normal standard error
    assert est.std() == pytest.approx(ov.sharpe_std(true_sr, t, -2.0, 9.0), rel=0.05)
    assert ov.sharpe_std(true_sr, t, -2.0, 9.0) > 1.15 * ov.sharpe_std(true_sr, t)


def test_psr_moves_the_right_way_and_mintrl_inverts_it() -> None:
    rng = np.random.default_rng(5)
    r = rng.normal(0.001, 0.01, 2000)
    p0 = ov.probabilistic_sharpe(r)
    assert 0.0 < ov.probabilistic_sharpe(r, sr_benchmark=0.05) < p0 < 1.0
    sr, skew, kurt, _ = ov.moments(r)
    trl = ov.min_track_record_length(r, 0.0, 0.95)
    # PSR computed with T = MinTRL is exactly the confidence asked for
    z = sr * math.sqrt(trl - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr * sr)
    assert NormalDist().cdf(z) == pytest.approx(0.95)
    assert ov.min_track_record_length(-r) == math.inf


def test_deflated_sharpe_falls_with_more_trials_and_more_dispersion() -> None:
    rng = np.random.default_rng(8)
    r = rng.normal(0.002, 0.01, 1000)
    trials = rng.normal(0.0, 0.03, 50)
    d50 = ov.deflated_sharpe(r, trials)
    assert 0.0 <= ov.deflated_sharpe(r, trials, n_trials=5000) < d50
    assert ov.deflated_sharpe(r, trials * 2) < d50
    assert d50 < ov.probabilistic_sharpe(r)  # deflating never helps
    with pytest.raises(ValueError, match="at least 2 trials"):
        ov.deflated_sharpe(r, [0.1])
    with pytest.raises(ValueError, match="NaN"):
        ov.deflated_sharpe(r, [0.1, np.nan])


def test_min_backtest_length_grows_with_trials() -> None:
    # the paper's bound: MinBTL < 2 ln N / E^2
    for n in (10, 100, 1000):
        assert ov.min_backtest_length(n, 1.0) < 2 * math.log(n)
    assert ov.min_backtest_length(1000, 1.0) > ov.min_backtest_length(10, 1.0)


def _brute_pbo(m: np.ndarray, s: int) -> tuple[float, list[float]]:
    """Straight from the paper, one split at a time, numpy's own std."""
    t, n = m.shape
    size = t // s
    m = m[t - size * s :]
    blocks = [m[b * size : (b + 1) * size] for b in range(s)]
    logits = []
    for c in combinations(range(s), s // 2):
        ins = np.vstack([blocks[b] for b in c])
        oos = np.vstack([blocks[b] for b in range(s) if b not in c])
        sr_in = ins.mean(axis=0) / ins.std(axis=0, ddof=1)
        sr_out = oos.mean(axis=0) / oos.std(axis=0, ddof=1)
        k = int(np.argmax(sr_in))
        rank = 1 + int(np.sum(sr_out < sr_out[k]))  # no ties in continuous data
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    return float(np.mean(np.array(logits) <= 0)), logits


def test_pbo_equals_a_brute_force_cscv_on_a_small_matrix() -> None:
    m = np.random.default_rng(2).normal(0.0005, 0.01, (123, 5))  # 123 rows: 3 dropped at S=8
    res = ov.pbo_cscv(m, n_splits=8)
    want, logits = _brute_pbo(m, 8)
    assert res.n_combinations == 70 and res.rows_used == 120
    assert res.pbo == want
    np.testing.assert_allclose(res.logits, logits, rtol=1e-12)
    assert res.is_best.shape == (70,) and res.oos_perf.shape == (70,)


def test_pbo_of_skillless_variants_is_near_one_half() -> None:
    rng = np.random.default_rng(4)
    pbos = [ov.pbo_cscv(rng.normal(0, 0.01, (400, 30)), n_splits=10).pbo for _ in range(40)]
    assert np.mean(pbos) == pytest.approx(0.5, abs=0.08)


def test_pbo_of_one_dominant_variant_is_near_zero() -> None:
    rng = np.random.default_rng(6)
    m = rng.normal(0, 0.01, (1600, 40))
    m[:, 17] += 0.004  # Sharpe 0.4 per period vs 0 for the others
    res = ov.pbo_cscv(m, n_splits=16)
    assert res.n_combinations == 12_870
    assert res.pbo < 0.01 and (res.is_best == 17).mean() > 0.99
    assert res.prob_oos_loss < 0.01


def test_pbo_flags_an_overfit_selection() -> None:
    """Variants that each shine in one stretch and lose elsewhere (a regime-fit): the
    in-sample winner is the one whose good stretch fell in sample, so out of sample it is
    below median more often than chance: PBO well above 1/2, the degradation slope negative."""
    rng = np.random.default_rng(9)
    t, n = 1600, 16
    m = rng.normal(0, 0.01, (t, n))
    for v in range(n):
        m[v * 100 : (v + 1) * 100, v] += 0.01
    m -= m.mean(axis=0)  # every variant breaks even over the whole span
    res = ov.pbo_cscv(m, n_splits=16)
    assert res.pbo > 0.7 and res.slope < 0 and res.prob_oos_loss > 0.9
    # with the mean as the statistic, OOS = -IS exactly for each variant: slope -1
    assert ov.pbo_cscv(m, n_splits=16, metric="mean").slope == pytest.approx(-1.0)


def test_pbo_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="even"):
        ov.pbo_cscv(np.zeros((100, 3)), n_splits=5)
    with pytest.raises(ValueError, match="2 variants"):
        ov.pbo_cscv(np.zeros((100, 1)))
    with pytest.raises(ValueError, match="blocks"):
        ov.pbo_cscv(np.zeros((20, 3)), n_splits=16)
    with pytest.raises(ValueError, match="NaN"):
        ov.pbo_cscv(np.full((100, 3), np.nan), n_splits=4)
    with pytest.raises(ValueError, match="metric"):
        ov.pbo_cscv(np.zeros((100, 3)), n_splits=4, metric="sortino")
