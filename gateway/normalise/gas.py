"""Gas conversions: litres -> m3 -> Smc with ARERA's coefficient C, Smc -> kWh, the gas day.

Coefficient C (ARERA Del. ARG/gas 159/08 and ARG/gas 79/09, in force since 1 July 2009, for
meters without a pressure/temperature volume converter) brings the volume read at the
meter to standard conditions (1.01325 bar, 15 degC) from the altitude H of the
municipality, its degree days GG and the conventional heating days ng of its climate zone:

    pb = 1.01325 * (1 - 0.0000225577 * H) ** 5.2559     barometric pressure at H [bar]
    kp = (pb + 0.020) / 1.01325                         0.020 bar: conventional supply
                                                        over-pressure of low-pressure networks
    gg = GG / ng                                        mean daily degree days of the season
    kt = 288.15 / (295.15 - gg)                         i.e. gas at (22 - gg) degC
    C  = kp * kt

each step rounded to the 6th decimal, as ARERA publishes it. ng by zone: B 121, C 137,
D 166, E 183, F 272 (ARERA's table); A is not in that table as published by the sources we
found: we use 105, the length of zone A's heating season (1 Dec-15 Mar, DPR 74/2013 art. 4),
which is also how B-E's values arise. Checks: Milano (122 m, 2404 GG, E) C = 1.027235;
Arquata Scrivia 1.017366 and Roccaforte Ligure 0.953262 (values published by their
distributor). Sources and reasoning: docs/decisions/004-normalisation.md.

Energy: the default calorific value is the net one (PCI) of seed 003 Table 5.1 (UNI/TS
11300-2:2014 prospetto B.19): 9.94 kWh/Nm3 / 1.0549 Sm3/Nm3 = 9.4227 kWh/Smc (printed
"9,42"), the convention of energy diagnoses, baselines and the CO2/primary-energy factors per
kWh. A site that wants bill-consistent energy passes its PCS, e.g. mj_to_kwh(38.190).

Gas day: 06:00 to 06:00 local time (Europe/Rome), named after the date it starts on; it has
23 hours around the last Sunday of March and 25 around the last Sunday of October.

Public API:
    coefficient_c(altitude_m, degree_days, zone) -> float
    coefficient_c_terms(altitude_m, degree_days, zone) -> CoefficientTerms (pb, kp, gg, kt, c)
    litres_to_m3(litres) -> float;  m3_to_smc(m3, c) -> float;  litres_to_smc(litres, c)
    smc_to_kwh(smc, calorific_kwh_per_smc=DEFAULT_PCI_KWH_PER_SMC) -> float
    mj_to_kwh(mj) -> float
    gas_day_of(start_utc) -> date;  gas_day_bounds_utc(day) -> (start, end) in UTC
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from gateway.normalise.errors import NormaliseError
from gateway.normalise.localtime import ROME, to_local

__all__ = [
    "ARERA_HEATING_DAYS",
    "DEFAULT_PCI_KWH_PER_SMC",
    "GAS_DAY_START_HOUR",
    "CoefficientTerms",
    "coefficient_c",
    "coefficient_c_terms",
    "gas_day_bounds_utc",
    "gas_day_of",
    "litres_to_m3",
    "litres_to_smc",
    "m3_to_smc",
    "mj_to_kwh",
    "smc_to_kwh",
]

STANDARD_PRESSURE_BAR = 1.01325
STANDARD_TEMPERATURE_K = 288.15
SUPPLY_OVERPRESSURE_BAR = 0.020
KT_REFERENCE_K = 295.15        # 22 degC: gg below it is the season's mean gas temperature
ARERA_HEATING_DAYS = {"A": 105, "B": 121, "C": 137, "D": 166, "E": 183, "F": 272}

PCI_KWH_PER_NM3 = 9.94          # seed 003 Table 5.1, from UNI/TS 11300-2:2014 prospetto B.19
SM3_PER_NM3 = 1.0549            # seed 003 Table 5.1
DEFAULT_PCI_KWH_PER_SMC = PCI_KWH_PER_NM3 / SM3_PER_NM3
GAS_DAY_START_HOUR = 6
_SIX = Decimal("0.000001")


def _round6(x: float) -> float:
    """Round half up to 6 decimals on the decimal representation (as a spreadsheet would)."""
    return float(Decimal(repr(x)).quantize(_SIX, rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class CoefficientTerms:
    """The intermediate terms of coefficient C, each rounded to 6 decimals."""

    pb: float
    kp: float
    gg: float
    kt: float
    c: float


def _non_negative(name: str, value: float) -> float:
    if value != value or value < 0:
        raise NormaliseError("must be a non-negative number", field=name, value=value,
                             expected=">= 0")
    return value


def coefficient_c_terms(altitude_m: float, degree_days: float, zone: str) -> CoefficientTerms:
    """ARERA coefficient C with its terms for a municipality (see the module docstring)."""
    if zone not in ARERA_HEATING_DAYS:
        raise NormaliseError("unknown climate zone", field="zone", value=zone,
                             expected="one of A, B, C, D, E, F")
    if altitude_m != altitude_m or not -10 <= altitude_m <= 4000:
        raise NormaliseError("altitude out of range", field="altitude_m", value=altitude_m,
                             expected="-10..4000 m")
    _non_negative("degree_days", degree_days)
    pb = _round6(STANDARD_PRESSURE_BAR * (1 - 0.0000225577 * altitude_m) ** 5.2559)
    kp = _round6((pb + SUPPLY_OVERPRESSURE_BAR) / STANDARD_PRESSURE_BAR)
    gg = _round6(degree_days / ARERA_HEATING_DAYS[zone])
    kt = _round6(STANDARD_TEMPERATURE_K / (KT_REFERENCE_K - gg))
    return CoefficientTerms(pb=pb, kp=kp, gg=gg, kt=kt, c=_round6(kp * kt))


def coefficient_c(altitude_m: float, degree_days: float, zone: str) -> float:
    """ARERA coefficient C (m3 at the meter -> Smc), rounded to 6 decimals."""
    return coefficient_c_terms(altitude_m, degree_days, zone).c


def litres_to_m3(litres: float) -> float:
    """Litres (a pulse register in L) to cubic metres."""
    return _non_negative("litres", litres) / 1000.0


def m3_to_smc(m3: float, c: float) -> float:
    """Metered m3 to standard m3 with coefficient C (use c=1.0 behind a volume converter)."""
    if c != c or not 0.5 < c < 1.5:
        raise NormaliseError("implausible coefficient C", field="c", value=c,
                             expected="0.5 < C < 1.5 (ARERA values are about 0.75..1.05)")
    return _non_negative("m3", m3) * c


def litres_to_smc(litres: float, c: float) -> float:
    """Litres at the meter straight to Smc."""
    return m3_to_smc(litres_to_m3(litres), c)


def smc_to_kwh(smc: float, calorific_kwh_per_smc: float = DEFAULT_PCI_KWH_PER_SMC) -> float:
    """Energy of `smc` standard m3 at the given calorific value (default: PCI of seed 003)."""
    if calorific_kwh_per_smc != calorific_kwh_per_smc or not 5 < calorific_kwh_per_smc < 15:
        raise NormaliseError(
            "implausible calorific value",
            field="calorific_kwh_per_smc",
            value=calorific_kwh_per_smc,
            expected="5..15 kWh/Smc (natural gas: PCI about 9.4, PCS about 10.6)",
        )
    return _non_negative("smc", smc) * calorific_kwh_per_smc


def mj_to_kwh(mj: float) -> float:
    """Megajoules to kWh (a bill's 38.190 MJ/Smc PCS is 10.608 kWh/Smc)."""
    return mj / 3.6


def gas_day_of(start_utc: datetime) -> date:
    """Gas day (06:00-06:00 local) that contains the interval starting at `start_utc`."""
    local = to_local(start_utc)
    day = local.date()
    return day - timedelta(days=1) if local.hour < GAS_DAY_START_HOUR else day


def gas_day_bounds_utc(day: date) -> tuple[datetime, datetime]:
    """UTC instants of 06:00 local on `day` and on the following day."""
    start = datetime.combine(day, time(GAS_DAY_START_HOUR), tzinfo=ROME).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(GAS_DAY_START_HOUR), tzinfo=ROME)
    return start, end.astimezone(UTC)
