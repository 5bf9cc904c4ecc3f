"""Hourly/15-minute baseline: time-of-week and temperature (CalTRACK hourly, TOWT style).

    P(t) = tow[hour_of_week(t)] + Σ_k s_occ(t),k * B_k(T(t))
P is the mean power of the interval (energy / hours) so hourly and 15-minute data share one
model; hour_of_week is local (Europe/Rome) because building schedules are local. B_k are the
piecewise-linear temperature components with CalTRACK's knots (55, 65, 75, 80, 90 °F =
12.8, 18.3, 23.9, 26.7, 32.2 °C); occupied and unoccupied hours of the week get their own
temperature slopes. An hour of the week is "occupied" when the residuals of a temperature-
only fit are positive in more than 65 % of its weeks (CalTRACK §4.2).

One ordinary least-squares fit on the whole baseline (CalTRACK's "single" segmentation); the
month-by-month weighted segmentation is not implemented. It is the expected profile the
alert plugin compares live readings with.

Public API:
    fit_towt(starts, values, temperatures, *, unit, length_s, min_days=...) -> TowtModel
    TowtModel.predict(starts, temperatures) -> energy per interval
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np

from gateway.analysis.checks import as_values, require_unit
from gateway.analysis.errors import AnalysisError, InsufficientDataError
from gateway.analysis.stats import FitStats, fit_stats

__all__ = ["KNOTS_C", "TowtModel", "fit_towt", "hour_of_week"]

KNOTS_C = np.array([12.8, 18.3, 23.9, 26.7, 32.2])
ROME = ZoneInfo("Europe/Rome")
OCCUPANCY_THRESHOLD = 0.65


def hour_of_week(starts: Sequence[datetime], tz: ZoneInfo = ROME) -> np.ndarray:
    """0..167, Monday 00:00 local = 0."""
    out = np.empty(len(starts), dtype=int)
    for i, t in enumerate(starts):
        if t.tzinfo is None:
            raise AnalysisError("timestamp without UTC offset", input="readings", row=i + 1,
                                field="start", value=t.isoformat(),
                                expected="ISO 8601 with offset")
        local = t.astimezone(tz)
        out[i] = local.weekday() * 24 + local.hour
    return out


def _temperature_basis(t: np.ndarray) -> np.ndarray:
    """Piecewise-linear components: each column is the temperature inside one segment."""
    edges = np.concatenate(([-np.inf], KNOTS_C, [np.inf]))
    cols = []
    for lo, hi in pairwise(edges):
        if np.isinf(lo):
            cols.append(np.minimum(t, hi))
        elif np.isinf(hi):
            cols.append(np.maximum(t - lo, 0.0))
        else:
            cols.append(np.clip(t - lo, 0.0, hi - lo))
    return np.column_stack(cols)


@dataclass(frozen=True, slots=True)
class TowtModel:
    """Fitted time-of-week-and-temperature model; powers in `unit` per hour."""

    tow: np.ndarray            # (168,)
    slopes_occupied: np.ndarray
    slopes_unoccupied: np.ndarray
    occupied: np.ndarray       # (168,) bool
    unit: str
    length_s: int
    stats: FitStats

    def power(self, how: np.ndarray, temperatures: np.ndarray) -> np.ndarray:
        basis = _temperature_basis(np.asarray(temperatures, dtype=float))
        occ = self.occupied[how]
        temp_part = np.where(occ, basis @ self.slopes_occupied, basis @ self.slopes_unoccupied)
        return self.tow[how] + temp_part

    def predict(self, starts: Sequence[datetime], temperatures: Sequence[float] | np.ndarray
                ) -> np.ndarray:
        """Expected energy of each interval starting at `starts` (never below zero)."""
        temps = as_values(temperatures, input="temperature", field="temperature_c",
                          allow_negative=True)
        if len(temps) != len(starts):
            raise AnalysisError("timestamps and temperatures differ in length",
                                input="temperature", value=(len(starts), len(temps)),
                                expected="one temperature per interval")
        hours = self.length_s / 3600.0
        return np.maximum(self.power(hour_of_week(starts), temps), 0.0) * hours

    def as_dict(self) -> dict[str, object]:
        return {"method": "towt", "unit": self.unit, "length_s": self.length_s,
                "tow_power": [float(x) for x in self.tow],
                "occupied": [bool(x) for x in self.occupied],
                "slopes_occupied": [float(x) for x in self.slopes_occupied],
                "slopes_unoccupied": [float(x) for x in self.slopes_unoccupied],
                "knots_c": [float(x) for x in KNOTS_C], "stats": self.stats.as_dict()}


def fit_towt(
    starts: Sequence[datetime],
    values: Sequence[float] | np.ndarray,
    temperatures: Sequence[float] | np.ndarray,
    *,
    unit: str,
    length_s: int = 3600,
    min_days: int = 365,
    min_coverage: float = 0.9,
) -> TowtModel:
    """Fit on interval energies with the outdoor temperature of each interval."""
    require_unit(unit, input="baseline")
    if length_s not in (900, 3600):
        raise AnalysisError("interval length not supported", input="baseline",
                            field="length_s", value=length_s, expected="900 or 3600 seconds")
    y = as_values(values, input="baseline") / (length_s / 3600.0)
    temps = as_values(temperatures, input="temperature", field="temperature_c",
                      allow_negative=True)
    if not (len(starts) == len(y) == len(temps)):
        raise AnalysisError("starts, values and temperatures differ in length",
                            input="baseline", value=(len(starts), len(y), len(temps)),
                            expected="equal lengths")
    if len(y) < 2:
        raise InsufficientDataError("no data", input="baseline", available=len(y),
                                    required=min_days * 86400 // length_s, unit="intervals")
    span_s = (max(starts) - min(starts)).total_seconds() + length_s
    if span_s < min_days * 86400:
        raise InsufficientDataError("the baseline is too short", input="baseline",
                                    available=round(span_s / 86400, 1), required=min_days,
                                    unit="days")
    coverage = len(y) * length_s / span_s
    if coverage < min_coverage:
        raise InsufficientDataError(
            "too many intervals missing", input="baseline",
            available=round(100 * coverage, 1), required=round(100 * min_coverage, 1),
            unit="% of intervals", hint="fill the gaps or shorten the baseline")
    how = hour_of_week(starts)
    basis = _temperature_basis(temps)
    nb = basis.shape[1]
    tow_onehot = np.zeros((len(y), 168))
    tow_onehot[np.arange(len(y)), how] = 1.0
    missing = np.flatnonzero(tow_onehot.sum(axis=0) == 0)
    if missing.size:
        raise InsufficientDataError(
            f"hour of week {int(missing[0])} never observed", input="baseline",
            available=168 - missing.size, required=168, unit="hours of the week covered")
    # occupancy from the sign of residuals of a temperature-only fit
    x0 = np.column_stack([np.ones(len(y)), basis])
    beta0, *_ = np.linalg.lstsq(x0, y, rcond=None)
    positive = (y - x0 @ beta0) > 0
    share = np.bincount(how, weights=positive, minlength=168) / np.bincount(how, minlength=168)
    occupied = share > OCCUPANCY_THRESHOLD
    occ = occupied[how][:, None]
    x = np.hstack([tow_onehot, basis * occ, basis * ~occ])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    pred = x @ beta
    used = 168 + nb * (int(occupied.any()) + int((~occupied).any()))
    stats = fit_stats(y, pred, used)
    return TowtModel(tow=beta[:168], slopes_occupied=beta[168:168 + nb],
                     slopes_unoccupied=beta[168 + nb:], occupied=occupied, unit=unit,
                     length_s=length_s, stats=stats)
