"""Energy conversions with cited, configurable factors: CO2, primary energy, Smc <-> kWh.

Defaults and their sources:
- CO2 emission factors (kg CO2/kWh), seed 003 Table 5.9, from the Covenant of Mayors
  ("Patto dei Sindaci") guidelines for 2010: electricity 0.467, natural gas 0.202, LPG 0.227,
  fuel oil 0.267, diesel 0.267, petrol 0.249.
- Primary-energy factors, DM 26 June 2015 Annex 1 Table 1 (seed 003 Table 5.11):
  natural gas fP,nren 1.05 / fP,ren 0 / fP,tot 1.05; grid electricity 1.95 / 0.47 / 2.42.
- Natural gas calorific value per standard cubic metre (Smc, 15 °C, 1.01325 bar): PCI (lower)
  9.42 kWh/Smc, seed 003 Table 5.1 (UNI TS 11300-2:2014: 9.94 kWh/Nm³ ÷ 1.0549 Sm³/Nm³); PCS
  (upper) 38.190 MJ/Smc = 10.608 kWh/Smc, the value on the supply contract in seed 003.
Every factor can be overridden by passing a `Factors` built from the site's config
(`factors_from`: a `[factors]` TOML table, e.g. in `meterkit analyze finance` inputs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from gateway.analysis.errors import AnalysisError

__all__ = ["ConversionError", "Factors", "co2_kg", "factors_from", "kwh_to_smc",
           "primary_energy_kwh", "smc_to_kwh"]


class ConversionError(AnalysisError):
    """A carrier or basis without a factor, or an override that is not a valid factor."""

MJ_PER_KWH = 3.6


@dataclass(frozen=True, slots=True)
class Factors:
    """Conversion factors; build one from config to override any default."""

    co2_kg_per_kwh: dict[str, float] = field(default_factory=lambda: {
        "electricity": 0.467, "natural_gas": 0.202, "lpg": 0.227,
        "fuel_oil": 0.267, "diesel": 0.267, "petrol": 0.249,
    })
    primary_energy: dict[str, dict[str, float]] = field(default_factory=lambda: {
        "natural_gas": {"nren": 1.05, "ren": 0.0, "tot": 1.05},
        "electricity": {"nren": 1.95, "ren": 0.47, "tot": 2.42},
    })
    gas_kwh_per_smc: dict[str, float] = field(default_factory=lambda: {
        "pci": 9.42, "pcs": 38.190 / MJ_PER_KWH,
    })
    sources: tuple[str, ...] = (
        "CO2: Covenant of Mayors guidelines 2010 (seed 003 Table 5.9)",
        "primary energy: DM 26/06/2015 Annex 1 Table 1 (seed 003 Table 5.11)",
        "gas: PCI 9.42 kWh/Smc (UNI TS 11300-2, seed 003), PCS 38.190 MJ/Smc (seed 003)",
    )


DEFAULT = Factors()


def _lookup(table: dict[str, float], key: str, what: str) -> float:
    try:
        return table[key]
    except KeyError:
        known = ", ".join(sorted(table))
        raise ConversionError(f"no {what} factor", input=what, value=key,
                              expected=f"one of {known}",
                              hint="add the factor under [factors]") from None


def co2_kg(kwh: float, carrier: str, factors: Factors = DEFAULT) -> float:
    """kg of CO2 for `kwh` of final energy of `carrier` (electricity, natural_gas, ...)."""
    return kwh * _lookup(factors.co2_kg_per_kwh, carrier, "CO2")


def primary_energy_kwh(
    kwh: float, carrier: str, basis: str = "tot", factors: Factors = DEFAULT
) -> float:
    """Primary energy for `kwh` delivered; `basis` is 'nren', 'ren' or 'tot'."""
    carrier_factors = factors.primary_energy.get(carrier)
    if carrier_factors is None:
        raise ConversionError("no primary-energy factors", input="primary_energy",
                              value=carrier, expected="one of " + ", ".join(
                                  sorted(factors.primary_energy)),
                              hint="add them under [factors.primary_energy]")
    return kwh * _lookup(carrier_factors, basis, "primary-energy basis")


def smc_to_kwh(smc: float, basis: str = "pci", factors: Factors = DEFAULT) -> float:
    """Standard cubic metres of natural gas to kWh on the PCI (lower) or PCS (upper) basis."""
    return smc * _lookup(factors.gas_kwh_per_smc, basis, "calorific-value basis")


def kwh_to_smc(kwh: float, basis: str = "pci", factors: Factors = DEFAULT) -> float:
    """kWh of natural gas to standard cubic metres on the PCI or PCS basis."""
    return kwh / _lookup(factors.gas_kwh_per_smc, basis, "calorific-value basis")


def _factor(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value >= 0):
        raise ConversionError("not a conversion factor", input=where, value=value,
                              expected="a number >= 0", hint="see docs/ANALYSIS.md, Conversions")
    return float(value)


def factors_from(table: Any, where: str = "factors") -> Factors:
    """Defaults overridden by a TOML table: co2_kg_per_kwh = {carrier = kg/kWh},
    primary_energy.<carrier> = {nren, ren, tot}, gas_kwh_per_smc = {pci, pcs}."""
    if table is None:
        return DEFAULT
    if not isinstance(table, dict):
        raise ConversionError("not a table", input=where, value=table,
                              expected="a [factors] table")
    out = DEFAULT
    for key, value in table.items():
        at = f"{where}.{key}"
        if not isinstance(value, dict):
            raise ConversionError("not a table", input=at, value=value,
                                  expected="a table of factors by carrier")
        if key == "co2_kg_per_kwh":
            out = replace(out, co2_kg_per_kwh=out.co2_kg_per_kwh | {
                c: _factor(v, f"{at}.{c}") for c, v in value.items()})
        elif key == "gas_kwh_per_smc":
            unknown = set(value) - {"pci", "pcs"}
            if unknown:
                raise ConversionError("unknown basis", input=at, value=sorted(unknown)[0],
                                      expected="pci or pcs")
            out = replace(out, gas_kwh_per_smc=out.gas_kwh_per_smc | {
                b: _factor(v, f"{at}.{b}") for b, v in value.items()})
        elif key == "primary_energy":
            pe = dict(out.primary_energy)
            for carrier, bases in value.items():
                ca = f"{at}.{carrier}"
                if not isinstance(bases, dict) or set(bases) - {"nren", "ren", "tot"}:
                    raise ConversionError("not a table of nren, ren, tot", input=ca,
                                          value=bases, expected="{nren = 1.95, ren = 0.47, "
                                          "tot = 2.42}")
                merged = pe.get(carrier, {}) | {b: _factor(v, f"{ca}.{b}")
                                                for b, v in bases.items()}
                if "tot" not in bases and {"nren", "ren"} <= set(bases):
                    merged["tot"] = merged["nren"] + merged["ren"]
                pe[carrier] = merged
            out = replace(out, primary_energy=pe)
        else:
            raise ConversionError("unknown key", input=at, expected="co2_kg_per_kwh, "
                                  "primary_energy or gas_kwh_per_smc")
    return replace(out, sources=(*out.sources, f"overridden by {where}"))
