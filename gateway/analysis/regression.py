"""Degree-day regression baseline with balance-point search (CalTRACK daily and billing).

Model, in use per day (CalTRACK 2.0 §3):
    UPD = a + bh * HDD(Tbh) + bc * CDD(Tbc)
with four candidates: intercept only, HDD only, CDD only, HDD + CDD. For every candidate
balance point (default -1..32 °C every 0.5 °C, CalTRACK's 30-90 °F) the fit is ordinary
least squares, weighted by the days of each period for billing data. A candidate qualifies
when its slopes are positive and significant (p < 0.1) and its degree days are sufficient
(at least 10 days with non-zero degree days and 20 °F·days = 11.1 °C·days in total); the
qualifying candidate with the highest adjusted R² wins, intercept-only being always
qualified.

All balance points are fitted at once: the weighted centred cross-products of every
HDD/CDD column come out of two matrix products, and the 2x2 normal equations of the
HDD + CDD pairs are solved in closed form over the whole grid. One year of daily data fits
in a few milliseconds.

Public API:
    fit_degree_day_model(usage, temperature, **options) -> DegreeDayModel
    DegreeDayModel.predict(starts, ends, temperature) -> per-period totals
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from gateway.analysis.degree_days import DailyTemperature
from gateway.analysis.errors import AnalysisError, InsufficientDataError
from gateway.analysis.stats import FitStats, fit_stats
from gateway.analysis.student_t import t_ppf, two_sided_p
from gateway.analysis.usage import UsagePeriods

__all__ = ["DEFAULT_BALANCE_POINTS_C", "DegreeDayModel", "fit_degree_day_model"]

DEFAULT_BALANCE_POINTS_C = np.arange(-1.0, 32.01, 0.5)
MIN_NONZERO_DAYS = 10
MIN_TOTAL_DEGREE_DAYS_C = 20.0 * 5.0 / 9.0   # CalTRACK's 20 °F·days
MIN_TEMPERATURE_COVERAGE = 0.9               # of a period's days, CalTRACK §2.2


@dataclass(frozen=True, slots=True)
class DegreeDayModel:
    """A selected degree-day model; slopes are per °C·day, the intercept per day."""

    model_type: str
    intercept: float
    heating_slope: float
    heating_balance_point: float | None
    cooling_slope: float
    cooling_balance_point: float | None
    unit: str
    granularity: str
    stats: FitStats
    p_values: dict[str, float] = field(default_factory=dict)
    candidates: int = 0

    def daily(self, temperatures_c: np.ndarray) -> np.ndarray:
        """Predicted use of days with these mean temperatures."""
        t = np.asarray(temperatures_c, dtype=float)
        out = np.full(t.shape, self.intercept)
        if self.heating_balance_point is not None:
            out += self.heating_slope * np.maximum(self.heating_balance_point - t, 0.0)
        if self.cooling_balance_point is not None:
            out += self.cooling_slope * np.maximum(t - self.cooling_balance_point, 0.0)
        return out

    def predict(self, starts: Sequence[date], ends: Sequence[date],
                temperature: DailyTemperature, *, input: str = "reporting") -> np.ndarray:
        """Predicted totals of the periods [start, end) under the given weather."""
        agg, _, days = _aggregate(starts, ends, temperature)
        cover = agg.sum(axis=1)
        short = np.flatnonzero(cover < MIN_TEMPERATURE_COVERAGE * days)
        if short.size:
            i = int(short[0])
            raise InsufficientDataError(
                f"period starting {starts[i].isoformat()} lacks temperature data",
                input=input, available=float(cover[i]), required=float(
                    np.ceil(MIN_TEMPERATURE_COVERAGE * days[i])), unit="days with temperature",
                hint="extend the temperature file to cover the reporting period")
        mean_daily = (agg @ self.daily(temperature.mean_c)) / cover
        return mean_daily * days

    def as_dict(self) -> dict[str, object]:
        return {
            "method": "degree_day_regression",
            "model_type": self.model_type,
            "granularity": self.granularity,
            "unit": self.unit,
            "intercept_per_day": self.intercept,
            "heating_slope_per_degree_day": self.heating_slope,
            "heating_balance_point_c": self.heating_balance_point,
            "cooling_slope_per_degree_day": self.cooling_slope,
            "cooling_balance_point_c": self.cooling_balance_point,
            "p_values": self.p_values,
            "candidates": self.candidates,
            "stats": self.stats.as_dict(),
        }


def _aggregate(starts: Sequence[date], ends: Sequence[date], temperature: DailyTemperature
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(periods x temperature-days) 0/1 matrix of which days fall in which period."""
    t_days = np.array([d.toordinal() for d in temperature.days])
    s = np.array([d.toordinal() for d in starts])[:, None]
    e = np.array([d.toordinal() for d in ends])[:, None]
    agg = ((t_days[None, :] >= s) & (t_days[None, :] < e)).astype(float)
    days = (e - s)[:, 0].astype(float)
    return agg, t_days, days


def fit_degree_day_model(
    usage: UsagePeriods,
    temperature: DailyTemperature,
    *,
    heating_balance_points: Sequence[float] | np.ndarray = DEFAULT_BALANCE_POINTS_C,
    cooling_balance_points: Sequence[float] | np.ndarray = DEFAULT_BALANCE_POINTS_C,
    alpha: float = 0.1,
    min_days: int = 365,
    min_coverage: float = 0.9,
    allow_heating: bool = True,
    allow_cooling: bool = True,
) -> DegreeDayModel:
    """Select and fit the CalTRACK candidate with the best adjusted R²."""
    usage.require_coverage(min_days=min_days, min_coverage=min_coverage)
    agg, _, days = _aggregate(usage.starts, usage.ends, temperature)
    cover = agg.sum(axis=1)
    keep = cover >= MIN_TEMPERATURE_COVERAGE * days
    if keep.sum() < 3:
        raise InsufficientDataError(
            "too few periods have temperature data", input="temperature",
            available=int(keep.sum()), required=3, unit="periods",
            hint="the temperature file must cover the baseline period")
    agg, cover, days = agg[keep], cover[keep], days[keep]
    y = usage.values[keep] / days                        # use per day
    w = days / days.mean()                               # billing weights; all 1 for daily
    n = len(y)
    temps = temperature.mean_c
    hbp = np.asarray(heating_balance_points, float) if allow_heating else np.empty(0)
    cbp = np.asarray(cooling_balance_points, float) if allow_cooling else np.empty(0)
    # mean degree days per day of each period, one column per balance point
    xh = (agg @ np.maximum(hbp[None, :] - temps[:, None], 0.0)) / cover[:, None]
    xc = (agg @ np.maximum(temps[:, None] - cbp[None, :], 0.0)) / cover[:, None]
    ybar = float(w @ y) / n
    yc = y - ybar
    syy = float(w @ (yc * yc))
    if syy <= 0:
        syy = 0.0

    def centred(x: np.ndarray) -> np.ndarray:
        return x - (w @ x) / n

    xhc, xcc = centred(xh), centred(xc)
    shh = np.einsum("i,ij,ij->j", w, xhc, xhc)
    scc = np.einsum("i,ij,ij->j", w, xcc, xcc)
    shy = (w * yc) @ xhc
    scy = (w * yc) @ xcc
    # degree-day sufficiency per balance point, counted in days
    h_ok = ((days @ (xh > 0)) >= MIN_NONZERO_DAYS) & ((days @ xh) >= MIN_TOTAL_DEGREE_DAYS_C)
    c_ok = ((days @ (xc > 0)) >= MIN_NONZERO_DAYS) & ((days @ xc) >= MIN_TOTAL_DEGREE_DAYS_C)

    # (candidate, adjusted R², parameters); intercept-only has SSE = SST, so adj R² = 0
    best: tuple[str, float, dict[str, float]] = ("intercept_only", 0.0, {})
    candidates = 1

    def adj_r2(sse: np.ndarray, p: int) -> np.ndarray:
        if syy == 0:
            return np.where(sse <= 0, 1.0, -np.inf)
        return 1.0 - (sse / (n - p)) / (syy / (n - 1))

    for kind, s_xx, s_xy, ok, grid in (("hdd_only", shh, shy, h_ok, hbp),
                                       ("cdd_only", scc, scy, c_ok, cbp)):
        if grid.size == 0 or n <= 2:
            continue
        candidates += grid.size
        with np.errstate(divide="ignore", invalid="ignore"):
            b = s_xy / s_xx
            sse = syy - b * s_xy
            se = np.sqrt(np.maximum(sse, 0) / (n - 2) / s_xx)
            tcrit = t_ppf(1 - alpha / 2, n - 2)
            qual = ok & (s_xx > 0) & (b > 0) & (b / se > tcrit)
            score = np.where(qual, adj_r2(sse, 2), -np.inf)
        k = int(np.argmax(score)) if score.size else 0
        if score.size and score[k] > best[1]:
            best = (kind, float(score[k]), {"k": k, "b": float(b[k])})

    if hbp.size and cbp.size and n > 3:
        shc = (w[:, None] * xhc).T @ xcc                  # Kh x Kc
        det = shh[:, None] * scc[None, :] - shc**2
        with np.errstate(divide="ignore", invalid="ignore"):
            bh = (scc[None, :] * shy[:, None] - shc * scy[None, :]) / det
            bc = (shh[:, None] * scy[None, :] - shc * shy[:, None]) / det
            sse = syy - bh * shy[:, None] - bc * scy[None, :]
            s2 = np.maximum(sse, 0) / (n - 3)
            se_h = np.sqrt(s2 * scc[None, :] / det)
            se_c = np.sqrt(s2 * shh[:, None] / det)
            tcrit = t_ppf(1 - alpha / 2, n - 3)
            qual = (h_ok[:, None] & c_ok[None, :] & (hbp[:, None] <= cbp[None, :])
                    & (det > 1e-12) & (bh > 0) & (bc > 0)
                    & (bh / se_h > tcrit) & (bc / se_c > tcrit))
            score = np.where(qual, adj_r2(sse, 3), -np.inf)
        candidates += int(np.sum(hbp[:, None] <= cbp[None, :]))
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[i, j] > best[1]:
            best = ("hdd_cdd", float(score[i, j]),
                    {"i": int(i), "j": int(j), "bh": float(bh[i, j]), "bc": float(bc[i, j])})

    kind, _, prm = best
    hs = cs = 0.0
    hb = cb = None
    p_values: dict[str, float] = {}
    if kind == "hdd_only":
        hb, hs = float(hbp[prm["k"]]), prm["b"]
    elif kind == "cdd_only":
        cb, cs = float(cbp[prm["k"]]), prm["b"]
    elif kind == "hdd_cdd":
        hb, cb, hs, cs = float(hbp[prm["i"]]), float(cbp[prm["j"]]), prm["bh"], prm["bc"]
    xsel_h = np.maximum(hb - temps, 0.0) if hb is not None else np.zeros_like(temps)
    xsel_c = np.maximum(temps - cb, 0.0) if cb is not None else np.zeros_like(temps)
    xh1 = (agg @ xsel_h) / cover
    xc1 = (agg @ xsel_c) / cover
    a = ybar - hs * float(w @ xh1) / n - cs * float(w @ xc1) / n
    p = 1 + (hb is not None) + (cb is not None)
    pred = a + hs * xh1 + cs * xc1
    stats = fit_stats(y, pred, p, weights=w)
    if p > 1:
        cols = [c for c, on in ((xh1, hb is not None), (xc1, cb is not None)) if on]
        x = np.column_stack([np.ones(n), *cols])
        xtwx_inv = np.linalg.inv(x.T @ (w[:, None] * x))
        s2 = float(w @ (y - pred) ** 2) / (n - p)
        slopes = [(nm, coef) for nm, coef, on in (("heating_slope", hs, hb is not None),
                                                  ("cooling_slope", cs, cb is not None)) if on]
        for idx, (nm, coef) in enumerate(slopes):
            se = float(np.sqrt(s2 * xtwx_inv[idx + 1, idx + 1]))
            p_values[nm] = two_sided_p(coef / se, n - p) if se > 0 else 0.0
    if not np.isfinite(a):
        raise AnalysisError("the regression did not converge", input="baseline",
                            hint="check the data for constant or duplicated values")
    return DegreeDayModel(
        model_type=kind, intercept=float(a), heating_slope=hs, heating_balance_point=hb,
        cooling_slope=cs, cooling_balance_point=cb, unit=usage.unit,
        granularity="daily" if usage.is_daily else "billing", stats=stats,
        p_values=p_values, candidates=candidates,
    )
