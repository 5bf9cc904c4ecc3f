"""Fit statistics, Guideline 14 limits, FSU and the t distribution, against hand and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats  # test-only reference, installed with eemeter

from gateway.analysis.stats import FitStats, fit_stats, fractional_savings_uncertainty, g14_check
from gateway.analysis.student_t import t_ppf, t_sf, two_sided_p


@pytest.mark.parametrize("df", [1, 2, 5, 30, 362])
@pytest.mark.parametrize("t", [0.0, 0.5, 1.645, 2.0, 4.5])
def test_t_sf_matches_scipy(t: float, df: int) -> None:
    assert t_sf(t, df) == pytest.approx(scipy_stats.t.sf(t, df), abs=1e-10)
    assert two_sided_p(-t, df) == pytest.approx(2 * scipy_stats.t.sf(t, df), abs=1e-10)


@pytest.mark.parametrize("df", [1, 3, 10, 100])
@pytest.mark.parametrize("q", [0.84, 0.95, 0.975])
def test_t_ppf_matches_scipy(q: float, df: int) -> None:
    assert t_ppf(q, df) == pytest.approx(scipy_stats.t.ppf(q, df), rel=1e-8)


def test_fit_stats_hand_example() -> None:
    # y = 10, 12, 14, 16; ŷ = 11, 11, 15, 15; residuals -1, 1, -1, 1; p = 2
    s = fit_stats(np.array([10, 12, 14, 16.0]), np.array([11, 11, 15, 15.0]), p=2)
    # SSE 4, SST 20: R² 0.8; adj 1 - 0.2 x 3/2 = 0.7; RMSE sqrt(4/2); CV = 1.41421/13
    assert s.r2 == pytest.approx(0.8)
    assert s.adj_r2 == pytest.approx(0.7)
    assert s.cvrmse == pytest.approx(math.sqrt(2) / 13)
    assert s.nmbe == pytest.approx(0.0)
    # lag-1 autocorrelation of -1, 1, -1, 1: (-1 -1 -1) / 4 = -0.75 -> n' capped at n
    assert s.autocorrelation == pytest.approx(-0.75)
    assert s.n_effective == 4


def test_g14_limits_by_reporting_length() -> None:
    s = fit_stats(np.array([10, 12, 14, 16.0]), np.array([11, 11, 15, 15.0]), p=2)
    assert g14_check(s, 6).cvrmse_limit == 0.20
    assert g14_check(s, 12).cvrmse_limit == 0.25
    assert g14_check(s, 60).cvrmse_limit == 0.25
    assert g14_check(s, 72).cvrmse_limit == 0.30
    assert g14_check(s, 6).passed           # CV 10.9 %, NMBE 0


def test_fsu_guideline_14_formula_by_hand() -> None:
    # n = 365, p = 3, CV = 0.10, rho = 0.2 -> n' = 365 x 0.8 / 1.2 = 243.33; F = 0.15; m = 365
    # t(0.84, 362) = 0.99558...; FSU = 1.26 t 0.10 / 0.15 sqrt((365/243.33)(1 + 2/243.33)/365)
    s = FitStats(n=365, p=3, r2=0.9, adj_r2=0.9, rmse=10.0, cvrmse=0.10, nmbe=0.0,
                autocorrelation=0.2, n_effective=365 * 0.8 / 1.2, mean=100.0)
    t = scipy_stats.t.ppf(0.84, 362)
    expected = 1.26 * t * 0.10 / 0.15 * math.sqrt((365 / 243.3333) * (1 + 2 / 243.3333) / 365)
    assert fractional_savings_uncertainty(s, 0.15, 365) == pytest.approx(expected, rel=1e-5)
    assert fractional_savings_uncertainty(s, 0.0, 365) == math.inf
