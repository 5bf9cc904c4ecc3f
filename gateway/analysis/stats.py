"""Fit statistics against ASHRAE Guideline 14 and the fractional savings uncertainty.

Definitions (ASHRAE Guideline 14-2014, with n observations and p model parameters):
    R²        = 1 - SSE / SST
    CV(RMSE)  = sqrt(SSE / (n - p)) / mean(y)
    NMBE      = sum(y - ŷ) / ((n - p) * mean(y))
    rho       = lag-1 autocorrelation of the residuals;  n' = n (1 - rho) / (1 + rho)
    FSU       = 1.26 * t * CV / F * sqrt((n / n') * (1 + 2 / n') / m)      (Annex B)
F is the savings fraction of the reporting period, m the number of reporting periods and t
Student's t at the confidence level with n - p degrees of freedom. The 1.26 factor and the
formula were derived for monthly and daily whole-building models; for hourly data they are
an approximation (CalTRACK uses them the same way).

Guideline 14 acceptance for a whole-building (IPMVP option C) baseline regression:
|NMBE| <= 0.5 %, CV(RMSE) <= 20 % with less than 12 months of reporting data (25 % with
12-60 months, 30 % above 60),
and savings uncertainty below 50 % of the savings at 68 % confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gateway.analysis.errors import AnalysisError
from gateway.analysis.student_t import t_ppf

__all__ = ["FitStats", "G14Check", "fit_stats", "fractional_savings_uncertainty", "g14_check"]

G14_NMBE_LIMIT = 0.005
G14_FSU_LIMIT = 0.50
G14_FSU_CONFIDENCE = 0.68


@dataclass(frozen=True, slots=True)
class FitStats:
    """Goodness of fit of a baseline model on its own data."""

    n: int
    p: int
    r2: float
    adj_r2: float
    rmse: float
    cvrmse: float
    nmbe: float
    autocorrelation: float
    n_effective: float
    mean: float

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class G14Check:
    """Which Guideline 14 limits a model meets; `passed` only when all of them hold."""

    cvrmse_limit: float
    nmbe_limit: float
    cvrmse_ok: bool
    nmbe_ok: bool

    @property
    def passed(self) -> bool:
        return self.cvrmse_ok and self.nmbe_ok

    def as_dict(self) -> dict[str, object]:
        return {"cvrmse_limit": self.cvrmse_limit, "nmbe_limit": self.nmbe_limit,
                "cvrmse_ok": self.cvrmse_ok, "nmbe_ok": self.nmbe_ok, "passed": self.passed}


def fit_stats(observed: np.ndarray, predicted: np.ndarray, p: int,
              weights: np.ndarray | None = None) -> FitStats:
    """Statistics of a fit; `weights` (days per billing period) make R² and means weighted."""
    y = np.asarray(observed, dtype=float)
    yhat = np.asarray(predicted, dtype=float)
    n = len(y)
    if n <= p:
        raise AnalysisError("fewer observations than model parameters", input="baseline",
                            value=n, expected=f"more than {p}")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    resid = y - yhat
    mean = float(np.average(y, weights=w))
    sse = float(np.sum(w * resid**2) / np.mean(w))
    sst = float(np.sum(w * (y - mean) ** 2) / np.mean(w))
    r2 = 1.0 - sse / sst if sst > 0 else 0.0
    adj = 1.0 - (1.0 - r2) * (n - 1) / (n - p) if n > p else float("nan")
    rmse = math.sqrt(sse / (n - p))
    cvrmse = rmse / mean if mean > 0 else float("inf")
    nmbe = float(np.sum(w * resid) / np.mean(w)) / ((n - p) * mean) if mean > 0 else float("inf")
    rho = _lag1_autocorrelation(resid)
    n_eff = n * (1.0 - rho) / (1.0 + rho) if rho > -1 else float(n)
    return FitStats(n=n, p=p, r2=r2, adj_r2=adj, rmse=rmse, cvrmse=cvrmse, nmbe=nmbe,
                    autocorrelation=rho, n_effective=min(float(n), n_eff), mean=mean)


def _lag1_autocorrelation(resid: np.ndarray) -> float:
    r = resid - resid.mean()
    denom = float(np.sum(r * r))
    if len(r) < 3 or denom == 0:
        return 0.0
    return float(np.sum(r[1:] * r[:-1]) / denom)


def g14_check(stats: FitStats, reporting_months: float = 12.0) -> G14Check:
    """Guideline 14 limits for the CV(RMSE) that apply to the reporting length.

    Less than 12 months of reporting data: 20 %; 12 to 60 months: 25 %; more: 30 %.
    """
    if reporting_months < 12:
        limit = 0.20
    elif reporting_months <= 60:
        limit = 0.25
    else:
        limit = 0.30
    return G14Check(cvrmse_limit=limit, nmbe_limit=G14_NMBE_LIMIT,
                    cvrmse_ok=stats.cvrmse <= limit,
                    nmbe_ok=abs(stats.nmbe) <= G14_NMBE_LIMIT)


def fractional_savings_uncertainty(
    stats: FitStats,
    savings_fraction: float,
    reporting_periods: int,
    confidence: float = G14_FSU_CONFIDENCE,
) -> float:
    """ASHRAE Guideline 14 FSU: relative uncertainty of the savings at `confidence`.

    Returns infinity when there are no savings to be uncertain about (F = 0).
    """
    if reporting_periods < 1:
        raise AnalysisError("no reporting periods", input="reporting", value=reporting_periods,
                            expected=">= 1")
    if not 0 < confidence < 1:
        raise AnalysisError("confidence must be between 0 and 1", input="confidence",
                            value=confidence, expected="e.g. 0.68, 0.90")
    if savings_fraction == 0:
        return float("inf")
    n, n_eff = stats.n, max(stats.n_effective, 1.0)
    t = t_ppf(0.5 + confidence / 2.0, max(n - stats.p, 1))
    return abs(1.26 * t * stats.cvrmse / savings_fraction
               * math.sqrt((n / n_eff) * (1.0 + 2.0 / n_eff) / reporting_periods))
