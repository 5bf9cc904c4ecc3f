"""Degree-day regression baseline with balance-point search (CalTRACK daily and billing).

Model, in use per day (CalTRACK 2.0 §3):
    UPD = a + bh * HDD(Tbh) + bc * CDD(Tbc)
with four candidates: intercept only, HDD only, CDD only, HDD + CDD. For every candidate
balance point (default -1..32 °C every 0.5 °C, CalTRACK's 30-90 °F; Tbh <= Tbc) the fit is
ordinary least squares of the use per day on the degree days per day, weighted by the days
of each period for billing data. A candidate qualifies when its slopes are positive and
significant (p < 0.1) and its degree days are sufficient (at least 10 days with non-zero
degree days and 20 °F·days = 11.1 °C·days in total, counted on the daily mean temperature);
the qualifying candidate with the highest adjusted R² wins, intercept-only being always
qualified.

Degree days of a day (decision record 014). CalTRACK takes them from the daily mean
temperature T: HDD = max(Tb - T, 0). Heating and cooling respond to the hours, though: a day
with a mean just above the balance point still has heating hours at night, which the daily
mean hides (CalTRACK issues #94/#120, "degree hours"). We also try the expected degree days
of a day whose temperatures spread around its mean with standard deviation s (Thom's
method for degree days from a mean temperature and its spread):
    HDD_s(Tb, T) = s * (z * Phi(z) + phi(z)),  z = (Tb - T) / s        (CDD: z = (T - Tb) / s)
which is max(Tb - T, 0) smoothed over a normal distribution of the day's temperatures, and
tends to it as s -> 0. The spread s is one more parameter of the search, from
`temperature_spreads` (default 0..6 °C every 1 °C, 0 being CalTRACK's degree days): every
(candidate, balance points, s) is fitted and selected by the same rules, with s > 0 counted
as one more model parameter in the adjusted R², the slope t-tests and the fit statistics.
`temperature_spreads=(0.0,)` is CalTRACK 2.0 exactly.

All balance points are fitted at once: the weighted centred cross-products of every
HDD/CDD column come out of matrix products, and the 2x2 normal equations of the HDD + CDD
pairs are solved in closed form over the whole grid, once per spread. One year of daily
data fits in a few milliseconds.

Public API:
    fit_degree_day_model(usage, temperature, **options) -> DegreeDayModel
    DegreeDayModel.predict(starts, ends, temperature) -> per-period totals
    expected_degree_days(x, spread) -> max(x, 0), or its expectation over N(x, spread²)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from gateway.analysis.degree_days import DailyTemperature
from gateway.analysis.errors import AnalysisError, InsufficientDataError
from gateway.analysis.stats import FitStats, fit_stats
from gateway.analysis.student_t import t_ppf, two_sided_p
from gateway.analysis.usage import UsagePeriods

__all__ = [
    "DEFAULT_BALANCE_POINTS_C",
    "DEFAULT_TEMPERATURE_SPREADS_C",
    "DegreeDayModel",
    "expected_degree_days",
    "fit_degree_day_model",
]

DEFAULT_BALANCE_POINTS_C = np.arange(-1.0, 32.01, 0.5)
# standard deviation of a day's temperatures around its mean: 0 = degree days of the daily
# mean (CalTRACK); 6 °C is the spread of hourly readings with a diurnal range of ~17 °C
DEFAULT_TEMPERATURE_SPREADS_C = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
MIN_NONZERO_DAYS = 10
MIN_TOTAL_DEGREE_DAYS_C = 20.0 * 5.0 / 9.0   # CalTRACK's 20 °F·days
MIN_TEMPERATURE_COVERAGE = 0.9               # of a period's days, CalTRACK §2.2

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# Abramowitz & Stegun 26.2.17: Phi(z) = 1 - phi(z) * P(t), t = 1 / (1 + 0.2316419 z), z >= 0,
# absolute error < 7.5e-8
_AS_P = 0.2316419
_AS_B = (1.330274429, -1.821255978, 1.781477937, -0.356563782, 0.319381530)


def expected_degree_days(x: np.ndarray | float, spread: float) -> np.ndarray:
    """E[max(X, 0)] for X ~ N(x, spread²); max(x, 0) when spread is 0.

    With x = Tb - T (heating) or T - Tb (cooling) these are the degree days of a day with
    mean temperature T whose temperatures spread around T with standard deviation `spread`.
    With z = x / spread: E = spread * (z Phi(z) + phi(z)) = max(x, 0) + spread phi(z) (1 - |z| P),
    P being the Abramowitz & Stegun tail polynomial; one exponential per value.
    """
    x = np.asarray(x, dtype=float)
    if spread <= 0:
        return np.maximum(x, 0.0)
    # in place: a year of days x the balance-point grid is evaluated once per spread
    z = np.array(np.abs(x), ndmin=1)
    z *= 1.0 / spread
    t = z * _AS_P
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * _AS_B[0]                                 # Horner: P(t) = t (b1 + t (b2 + ...))
    for b in _AS_B[1:-1]:
        poly += b
        poly *= t
    poly += _AS_B[-1]
    poly *= t
    poly *= z                                           # 1 - |z| P(t), >= 0
    np.subtract(1.0, poly, out=poly)
    np.maximum(poly, 0.0, out=poly)
    np.square(z, out=z)                                 # spread * phi(z)
    z *= -0.5
    np.exp(z, out=z)
    z *= spread * _INV_SQRT_2PI
    z *= poly
    z += np.maximum(x, 0.0).reshape(z.shape)
    return z.reshape(x.shape)


@dataclass(frozen=True, slots=True)
class DegreeDayModel:
    """A selected degree-day model; slopes are per °C·day, the intercept per day.

    `temperature_spread_c` is the within-day temperature spread its degree days assume
    (0: degree days of the daily mean, CalTRACK's definition).
    """

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
    temperature_spread_c: float = 0.0

    def daily(self, temperatures_c: np.ndarray) -> np.ndarray:
        """Predicted use of days with these mean temperatures."""
        t = np.asarray(temperatures_c, dtype=float)
        out = np.full(t.shape, self.intercept)
        s = self.temperature_spread_c
        if self.heating_balance_point is not None:
            out += self.heating_slope * expected_degree_days(self.heating_balance_point - t, s)
        if self.cooling_balance_point is not None:
            out += self.cooling_slope * expected_degree_days(t - self.cooling_balance_point, s)
        return out

    def predict(self, starts: Sequence[date], ends: Sequence[date],
                temperature: DailyTemperature, *, input: str = "reporting") -> np.ndarray:
        """Predicted totals of the periods [start, end) under the given weather."""
        per = _Periods(starts, ends, temperature)
        short = np.flatnonzero(per.cover < MIN_TEMPERATURE_COVERAGE * per.days)
        if short.size:
            i = int(short[0])
            raise InsufficientDataError(
                f"period starting {starts[i].isoformat()} lacks temperature data",
                input=input, available=float(per.cover[i]), required=float(
                    np.ceil(MIN_TEMPERATURE_COVERAGE * per.days[i])),
                unit="days with temperature",
                hint="extend the temperature file to cover the reporting period")
        return per.mean(self.daily(per.temps)) * per.days

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
            "temperature_spread_c": self.temperature_spread_c,
            "p_values": self.p_values,
            "candidates": self.candidates,
            "stats": self.stats.as_dict(),
        }


class _Periods:
    """Which temperature days fall in which period [start, end), as index ranges.

    Periods never overlap (UsagePeriods), so the days of each one are a contiguous run of
    the sorted temperature days; per-period means are sums over those runs.
    """

    def __init__(self, starts: Sequence[date], ends: Sequence[date],
                 temperature: DailyTemperature) -> None:
        t_ord = np.array([d.toordinal() for d in temperature.days])
        temps = np.asarray(temperature.mean_c, dtype=float)
        if t_ord.size > 1 and np.any(np.diff(t_ord) < 0):
            order = np.argsort(t_ord, kind="stable")
            t_ord, temps = t_ord[order], temps[order]
        s = np.array([d.toordinal() for d in starts])
        e = np.array([d.toordinal() for d in ends])
        lo = np.searchsorted(t_ord, s, side="left")
        hi = np.searchsorted(t_ord, e, side="left")
        self.days = (e - s).astype(float)
        self.cover = (hi - lo).astype(float)
        # only the temperature days that some period uses
        first = int(lo.min()) if lo.size else 0
        last = int(hi.max()) if hi.size else 0
        self.temps = temps[first:last]
        self._lo, self._hi = lo - first, hi - first

    def subset(self, keep: np.ndarray) -> None:
        self.days, self.cover = self.days[keep], self.cover[keep]
        self._lo, self._hi = self._lo[keep], self._hi[keep]

    def mean(self, x: np.ndarray) -> np.ndarray:
        """Per-period mean over the days with temperature of `x` (rows = those days)."""
        lens = self._hi - self._lo
        if np.all(lens == 1):                               # daily data: a gather
            sums = x[self._lo]
        else:
            idx = np.concatenate([np.arange(a, b) for a, b in zip(self._lo, self._hi,
                                                                  strict=True)])
            offsets = np.concatenate([[0], np.cumsum(lens)[:-1]])
            sums = np.add.reduceat(x[idx], offsets, axis=0)
        cover = self.cover if x.ndim == 1 else self.cover[:, None]
        return sums / cover


def fit_degree_day_model(
    usage: UsagePeriods,
    temperature: DailyTemperature,
    *,
    heating_balance_points: Sequence[float] | np.ndarray = DEFAULT_BALANCE_POINTS_C,
    cooling_balance_points: Sequence[float] | np.ndarray = DEFAULT_BALANCE_POINTS_C,
    temperature_spreads: Sequence[float] = DEFAULT_TEMPERATURE_SPREADS_C,
    alpha: float = 0.1,
    min_days: int = 365,
    min_coverage: float = 0.9,
    allow_heating: bool = True,
    allow_cooling: bool = True,
) -> DegreeDayModel:
    """Select and fit the candidate with the best adjusted R² (see the module docstring)."""
    usage.require_coverage(min_days=min_days, min_coverage=min_coverage)
    per = _Periods(usage.starts, usage.ends, temperature)
    keep = (per.cover >= MIN_TEMPERATURE_COVERAGE * per.days) & (per.cover > 0)
    if keep.sum() < 3:
        raise InsufficientDataError(
            "too few periods have temperature data", input="temperature",
            available=int(keep.sum()), required=3, unit="periods",
            hint="the temperature file must cover the baseline period")
    per.subset(keep)
    days = per.days
    y = usage.values[keep] / days                        # use per day
    w = days / days.mean()                               # billing weights; all 1 for daily
    n = len(y)
    temps = per.temps
    hbp = np.asarray(heating_balance_points, float) if allow_heating else np.empty(0)
    cbp = np.asarray(cooling_balance_points, float) if allow_cooling else np.empty(0)
    spreads = sorted({max(float(s), 0.0) for s in temperature_spreads} or {0.0})
    ybar = float(w @ y) / n
    yc = y - ybar
    syy = max(float(w @ (yc * yc)), 0.0)

    # degree-day sufficiency per balance point, on the daily mean temperature, in days
    xh0 = per.mean(np.maximum(hbp[None, :] - temps[:, None], 0.0))
    xc0 = per.mean(np.maximum(temps[:, None] - cbp[None, :], 0.0))
    h_ok = ((days @ (xh0 > 0)) >= MIN_NONZERO_DAYS) & ((days @ xh0) >= MIN_TOTAL_DEGREE_DAYS_C)
    c_ok = ((days @ (xc0 > 0)) >= MIN_NONZERO_DAYS) & ((days @ xc0) >= MIN_TOTAL_DEGREE_DAYS_C)
    pair_ok = h_ok[:, None] & c_ok[None, :] & (hbp[:, None] <= cbp[None, :])

    same_grid = hbp.shape == cbp.shape and bool(np.all(hbp == cbp))
    tcrits: dict[int, float] = {}

    def tcrit_for(df: int) -> float:
        if df not in tcrits:
            tcrits[df] = t_ppf(1 - alpha / 2, df)
        return tcrits[df]

    def centred(x: np.ndarray) -> np.ndarray:
        return x - (w @ x) / n

    def adj_r2(sse: np.ndarray, p: int) -> np.ndarray:
        if syy == 0:
            return np.where(sse <= 0, 1.0, -np.inf)
        return 1.0 - (sse / (n - p)) / (syy / (n - 1))

    # (candidate, adjusted R², parameters); intercept-only has SSE = SST, so adj R² = 0
    best: tuple[str, float, dict[str, float]] = ("intercept_only", 0.0, {})
    candidates = 1
    for spread in spreads:
        extra = 1 if spread > 0 else 0                   # the spread is a parameter too
        if spread > 0:
            dh = hbp[None, :] - temps[:, None]
            gh = expected_degree_days(dh, spread)
            xh = per.mean(gh)
            if same_grid:                                # E[max(-X, 0)] = E[max(X, 0)] - x
                xc = per.mean(np.maximum(gh - dh, 0.0))
            else:
                xc = per.mean(expected_degree_days(temps[:, None] - cbp[None, :], spread))
        else:
            xh, xc = xh0, xc0
        xhc, xcc = centred(xh), centred(xc)
        shh = np.einsum("i,ij,ij->j", w, xhc, xhc)
        scc = np.einsum("i,ij,ij->j", w, xcc, xcc)
        shy = (w * yc) @ xhc
        scy = (w * yc) @ xcc

        for kind, s_xx, s_xy, ok, grid in (("hdd_only", shh, shy, h_ok, hbp),
                                           ("cdd_only", scc, scy, c_ok, cbp)):
            p = 2 + extra
            if grid.size == 0 or n <= p:
                continue
            candidates += grid.size
            with np.errstate(divide="ignore", invalid="ignore"):
                b = s_xy / s_xx
                sse = syy - b * s_xy
                se = np.sqrt(np.maximum(sse, 0) / (n - p) / s_xx)
                tcrit = tcrit_for(n - p)
                qual = ok & (s_xx > 0) & (b > 0) & (b / se > tcrit)
                score = np.where(qual, adj_r2(sse, p), -np.inf)
            k = int(np.argmax(score))
            if score[k] > best[1]:
                best = (kind, float(score[k]), {"k": k, "s": spread})

        p = 3 + extra
        if hbp.size and cbp.size and n > p:
            shc = (w[:, None] * xhc).T @ xcc              # Kh x Kc
            det = shh[:, None] * scc[None, :] - shc**2
            with np.errstate(divide="ignore", invalid="ignore"):
                bh = (scc[None, :] * shy[:, None] - shc * scy[None, :]) / det
                bc = (shh[:, None] * scy[None, :] - shc * shy[:, None]) / det
                sse = syy - bh * shy[:, None] - bc * scy[None, :]
                s2 = np.maximum(sse, 0) / (n - p)
                se_h = np.sqrt(s2 * scc[None, :] / det)
                se_c = np.sqrt(s2 * shh[:, None] / det)
                tcrit = tcrit_for(n - p)
                qual = (pair_ok & (det > 1e-12 * shh[:, None] * scc[None, :])
                        & (bh > 0) & (bc > 0) & (bh / se_h > tcrit) & (bc / se_c > tcrit))
                score = np.where(qual, adj_r2(sse, p), -np.inf)
            candidates += int(np.sum(hbp[:, None] <= cbp[None, :]))
            i, j = np.unravel_index(int(np.argmax(score)), score.shape)
            if score[i, j] > best[1]:
                best = ("hdd_cdd", float(score[i, j]), {"i": int(i), "j": int(j), "s": spread})

    kind, _, prm = best
    spread = float(prm.get("s", 0.0))
    hb = cb = None
    if kind == "hdd_only":
        hb = float(hbp[prm["k"]])
    elif kind == "cdd_only":
        cb = float(cbp[prm["k"]])
    elif kind == "hdd_cdd":
        hb, cb = float(hbp[prm["i"]]), float(cbp[prm["j"]])
    if hb is None and cb is None:
        spread = 0.0
    # final least squares on the selected columns: coefficients, p-values, statistics
    cols = []
    if hb is not None:
        cols.append(per.mean(expected_degree_days(hb - temps, spread)))
    if cb is not None:
        cols.append(per.mean(expected_degree_days(temps - cb, spread)))
    x = np.column_stack([np.ones(n), *cols])
    xtwx = x.T @ (w[:, None] * x)
    coef = np.linalg.solve(xtwx, x.T @ (w * y))
    pred = x @ coef
    p = x.shape[1] + (1 if spread > 0 else 0)
    stats = fit_stats(y, pred, p, weights=w)
    a = float(coef[0])
    hs = float(coef[1]) if hb is not None else 0.0
    cs = float(coef[-1]) if cb is not None else 0.0
    p_values: dict[str, float] = {}
    if len(cols):
        xtwx_inv = np.linalg.inv(xtwx)
        s2 = float(w @ (y - pred) ** 2) / (n - p)
        names = [nm for nm, on in (("heating_slope", hb is not None),
                                   ("cooling_slope", cb is not None)) if on]
        for idx, nm in enumerate(names, start=1):
            se = float(np.sqrt(s2 * xtwx_inv[idx, idx]))
            p_values[nm] = two_sided_p(float(coef[idx]) / se, n - p) if se > 0 else 0.0
    if not np.isfinite(a):
        raise AnalysisError("the regression did not converge", input="baseline",
                            hint="check the data for constant or duplicated values")
    return DegreeDayModel(
        model_type=kind, intercept=a, heating_slope=hs, heating_balance_point=hb,
        cooling_slope=cs, cooling_balance_point=cb, unit=usage.unit,
        granularity="daily" if usage.is_daily else "billing", stats=stats,
        p_values=p_values, candidates=candidates, temperature_spread_c=spread,
    )
