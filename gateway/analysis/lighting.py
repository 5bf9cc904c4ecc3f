"""Public-lighting PMVP settlement (seed 002): EEoff, EEagg, %acc, extra saving, Cpsup.

Formulas, with the seed's inconsistency resolved (docs/decisions/008-baselines.md):
    EEoff  = EEbas * (1 - %off)          seed §5 prints EEbas * %off, but its Table A
                                         defines %off = (EEbas - EEoff) / EEbas
    ΔE     = Σ(P_added) - Σ(P_removed)) * h        h = 4,110 (4,122 h 41 min leap) or logged
    EEagg  = EEoff + ΔE                            seed §6
    %acc   = (EEbas + ΔE - EEmeas) / EEbas         saving ascertained "rispetto alla Baseline",
                                                   baseline adjusted for the same light points,
                                                   so that %acc >= %off  <=>  EEmeas <= EEagg
    EXS    = max(%acc - %off - 2 %, 0) * EEagg * PErif   seed §8; split 50/50, the
                                                   municipality's half deducted from the fee
    Cpsup  = PErif * EEbas * %off * 3.5 %          seed §13
Below the offer (%acc < %off) the seed refers to art. 39 of the Capitolato (not in the
documents): the settlement reports the shortfall in kWh and at PErif, and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from gateway.analysis.errors import AnalysisError, NegativeValueError, PeriodError

__all__ = [
    "BURNING_SCHEDULE",
    "CONTRACT_HOURS",
    "CONTRACT_HOURS_LEAP",
    "LightingSettlement",
    "contract_burning_hours",
    "lighting_pmvp",
    "logged_burning_hours",
    "schedule_burning_hours",
]

CONTRACT_HOURS = 4110.0
CONTRACT_HOURS_LEAP = 4122.0 + 41.0 / 60.0

# Seed 002 §3.2: (month, ten-day period, days, switch-on, switch-off); the last period of
# February has 8 days (9 in leap years).
BURNING_SCHEDULE: tuple[tuple[int, int, int, str, str], ...] = (
    (1, 1, 10, "17:12", "07:48"), (1, 2, 10, "17:22", "07:43"), (1, 3, 11, "17:32", "07:38"),
    (2, 1, 10, "17:47", "07:28"), (2, 2, 10, "18:02", "07:13"), (2, 3, 8, "18:17", "06:58"),
    (3, 1, 10, "18:27", "06:43"), (3, 2, 10, "18:42", "06:23"), (3, 3, 11, "18:57", "06:03"),
    (4, 1, 10, "20:12", "06:43"), (4, 2, 10, "20:22", "06:23"), (4, 3, 10, "20:37", "06:03"),
    (5, 1, 10, "20:52", "05:48"), (5, 2, 10, "21:02", "05:33"), (5, 3, 11, "21:17", "05:23"),
    (6, 1, 10, "21:27", "05:13"), (6, 2, 10, "21:33", "05:12"), (6, 3, 10, "21:38", "05:12"),
    (7, 1, 10, "21:38", "05:22"), (7, 2, 10, "21:27", "05:33"), (7, 3, 11, "21:17", "05:38"),
    (8, 1, 10, "21:02", "05:55"), (8, 2, 10, "20:47", "06:08"), (8, 3, 11, "20:27", "06:23"),
    (9, 1, 10, "20:07", "06:38"), (9, 2, 10, "19:47", "06:48"), (9, 3, 10, "19:27", "07:03"),
    (10, 1, 10, "19:07", "07:13"), (10, 2, 10, "18:47", "07:28"),
    (10, 3, 11, "18:32", "07:38"),
    (11, 1, 10, "17:17", "06:52"), (11, 2, 10, "17:02", "07:08"),
    (11, 3, 10, "16:57", "07:18"),
    (12, 1, 10, "16:57", "07:33"), (12, 2, 10, "16:57", "07:38"),
    (12, 3, 11, "17:02", "07:48"),
)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def schedule_burning_hours(leap: bool = False) -> float:
    """Hours of the seed's switch-on schedule over a year (night spans midnight)."""
    total = 0
    for month, period, days, on, off in BURNING_SCHEDULE:
        n = days + (1 if leap and month == 2 and period == 3 else 0)
        total += n * (24 * 60 - _minutes(on) + _minutes(off))
    return total / 60.0


def contract_burning_hours(year: int) -> float:
    """The contract's yearly hours: 4,110, or 4,122 h 41 min in a leap year."""
    leap = date(year, 12, 31).timetuple().tm_yday == 366
    return CONTRACT_HOURS_LEAP if leap else CONTRACT_HOURS


def logged_burning_hours(switch_on: Sequence[datetime], switch_off: Sequence[datetime]) -> float:
    """Hours lit from logged switch-on/off times (seed 002 §10 CSV export)."""
    if len(switch_on) != len(switch_off):
        raise AnalysisError("switch-on and switch-off lists differ in length",
                            input="burning_log", value=(len(switch_on), len(switch_off)),
                            expected="one switch-off per switch-on")
    total = 0.0
    last_off: datetime | None = None
    pairs = sorted(zip(switch_on, switch_off, strict=True))
    for i, (on, off) in enumerate(pairs):
        if on.tzinfo is None or off.tzinfo is None:
            raise AnalysisError("time without UTC offset", input="burning_log", row=i + 1,
                                value=on.isoformat(), expected="ISO 8601 with offset")
        if off <= on:
            raise PeriodError("switch-off not after switch-on", input="burning_log",
                              row=i + 1, field="off", value=off.isoformat(),
                              expected=f"after {on.isoformat()}")
        if last_off is not None and on < last_off:
            raise PeriodError("lit intervals overlap", input="burning_log", row=i + 1,
                              field="on", value=on.isoformat(),
                              expected=f"on or after {last_off.isoformat()}")
        total += (off - on).total_seconds() / 3600.0
        last_off = off
    return total


@dataclass(frozen=True, slots=True)
class LightingSettlement:
    """One municipality's yearly PMVP check, every intermediate term kept."""

    ee_bas: float
    pct_off: float
    ee_off: float
    hours: float
    delta_kwh: float
    ee_agg: float
    ee_measured: float
    pct_acc: float
    deductible: float
    price: float
    municipality_share: float
    supervisor_rate: float

    @property
    def offer_met(self) -> bool:
        return self.ee_measured <= self.ee_agg + 1e-9

    @property
    def extra_pct(self) -> float:
        return self.pct_acc - self.pct_off

    @property
    def exs_eur(self) -> float:
        return max(self.extra_pct - self.deductible, 0.0) * self.ee_agg * self.price

    @property
    def exs_municipality_eur(self) -> float:
        return self.municipality_share * self.exs_eur

    @property
    def exs_concessionaire_eur(self) -> float:
        return self.exs_eur - self.exs_municipality_eur

    @property
    def shortfall_kwh(self) -> float:
        return max(self.ee_measured - self.ee_agg, 0.0)

    @property
    def cpsup_eur(self) -> float:
        return self.price * self.ee_bas * self.pct_off * self.supervisor_rate

    def as_dict(self) -> dict[str, object]:
        return {
            "ee_bas_kwh": self.ee_bas, "pct_off": 100 * self.pct_off, "ee_off_kwh": self.ee_off,
            "hours": self.hours, "light_points_delta_kwh": self.delta_kwh,
            "ee_agg_kwh": self.ee_agg, "ee_measured_kwh": self.ee_measured,
            "pct_acc": 100 * self.pct_acc, "offer_met": self.offer_met,
            "extra_pct": 100 * self.extra_pct, "deductible_pct": 100 * self.deductible,
            "exs_eur": self.exs_eur, "exs_municipality_eur": self.exs_municipality_eur,
            "exs_concessionaire_eur": self.exs_concessionaire_eur,
            "shortfall_kwh": self.shortfall_kwh,
            "shortfall_value_eur": self.shortfall_kwh * self.price,
            "shortfall_note": "fee reduction per art. 39 of the Capitolato, not computed here",
            "price_eur_per_kwh": self.price, "cpsup_eur": self.cpsup_eur,
        }


def lighting_pmvp(
    *,
    ee_bas: float,
    ee_measured: float,
    price: float,
    pct_off: float | None = None,
    ee_off: float | None = None,
    added_kw: Sequence[float] = (),
    removed_kw: Sequence[float] = (),
    hours: float = CONTRACT_HOURS,
    deductible: float = 0.02,
    municipality_share: float = 0.5,
    supervisor_rate: float = 0.035,
) -> LightingSettlement:
    """Settle one year; give the offer either as `pct_off` (fraction) or as `ee_off` (kWh)."""
    checks = {"ee_bas": ee_bas, "ee_measured": ee_measured, "price": price, "hours": hours}
    for name, v in checks.items():
        if not np.isfinite(v) or v < 0:
            raise NegativeValueError("must be a non-negative number", input="lighting",
                                     field=name, value=v, expected=">= 0")
    for name, v in (("deductible", deductible), ("municipality_share", municipality_share),
                    ("supervisor_rate", supervisor_rate)):
        if not 0 <= v <= 1:
            raise AnalysisError("must be a fraction", input="lighting", field=name, value=v,
                                expected="0..1, e.g. 0.02 for the 2 % deductible")
    if ee_bas == 0:
        raise AnalysisError("baseline is zero", input="lighting", field="ee_bas", value=0.0,
                            expected="> 0 kWh (seed 002 Table A)")
    if (pct_off is None) == (ee_off is None):
        raise AnalysisError("give exactly one of pct_off and ee_off", input="lighting",
                            field="pct_off", value=(pct_off, ee_off),
                            expected="the offered saving % or the offered consumption")
    if ee_off is not None:
        if not 0 <= ee_off <= ee_bas:
            raise AnalysisError("offered consumption outside 0..EEbas", input="lighting",
                                field="ee_off", value=ee_off, expected=f"0..{ee_bas:g} kWh")
        pct = (ee_bas - ee_off) / ee_bas
    elif pct_off is not None:
        if not 0 <= pct_off < 1:
            raise AnalysisError("offered saving outside 0..100 %", input="lighting",
                                field="pct_off", value=pct_off,
                                expected="a fraction, e.g. 0.45 for 45 %")
        pct = pct_off
    else:  # unreachable: exactly one of the two was checked above
        raise AnalysisError("no offer given", input="lighting", field="pct_off")
    for name, powers in (("added_kw", added_kw), ("removed_kw", removed_kw)):
        for i, p in enumerate(powers):
            if not np.isfinite(p) or p < 0:
                raise NegativeValueError("light-point power must be >= 0 kW", input="lighting",
                                         row=i + 1, field=name, value=p, expected=">= 0 kW")
    delta = (float(sum(added_kw)) - float(sum(removed_kw))) * hours
    off = ee_bas * (1.0 - pct)
    return LightingSettlement(
        ee_bas=ee_bas, pct_off=pct, ee_off=off, hours=hours, delta_kwh=delta,
        ee_agg=off + delta, ee_measured=ee_measured,
        pct_acc=(ee_bas + delta - ee_measured) / ee_bas, deductible=deductible, price=price,
        municipality_share=municipality_share, supervisor_rate=supervisor_rate,
    )
