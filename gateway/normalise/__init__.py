"""Normalisation domain: local time, holidays, ARERA bands, gas conversions, register deltas.

Pure functions over plain values, no database and no I/O except reading the packaged DPR 412
table. Each submodule documents its public API in its docstring; the names most callers
need are re-exported here. Decisions: docs/decisions/004-normalisation.md.
"""

from gateway.normalise.bands import band_of, energy_by_band, energy_by_month_and_band
from gateway.normalise.energy import (
    Deltas,
    GapPolicy,
    IntervalAmount,
    RegisterSample,
    interval_amounts,
)
from gateway.normalise.errors import (
    AmbiguousMunicipalityError,
    NormaliseError,
    UnknownMunicipalityError,
)
from gateway.normalise.gas import (
    coefficient_c,
    gas_day_of,
    litres_to_smc,
    smc_to_kwh,
)
from gateway.normalise.holidays_it import (
    ARERA_BANDS_CALENDAR,
    NATIONAL_HOLIDAYS,
    HolidayCalendar,
    easter_sunday,
)
from gateway.normalise.localtime import intervals_of_local_day, local_date_of
from gateway.normalise.sites import SiteFacts, site_facts

__all__ = [
    "ARERA_BANDS_CALENDAR",
    "NATIONAL_HOLIDAYS",
    "AmbiguousMunicipalityError",
    "Deltas",
    "GapPolicy",
    "HolidayCalendar",
    "IntervalAmount",
    "NormaliseError",
    "RegisterSample",
    "SiteFacts",
    "UnknownMunicipalityError",
    "band_of",
    "coefficient_c",
    "easter_sunday",
    "energy_by_band",
    "energy_by_month_and_band",
    "gas_day_of",
    "interval_amounts",
    "intervals_of_local_day",
    "litres_to_smc",
    "local_date_of",
    "site_facts",
    "smc_to_kwh",
]
