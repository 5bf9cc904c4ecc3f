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
Every factor can be overridden by passing a `Factors` built from the site's config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Factors", "co2_kg", "primary_energy_kwh", "smc_to_kwh", "kwh_to_smc"]

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
        raise KeyError(f"no {what} factor for {key!r}; known: {known} (add it in config)") from None


def co2_kg(kwh: float, carrier: str, factors: Factors = DEFAULT) -> float:
    """kg of CO2 for `kwh` of final energy of `carrier` (electricity, natural_gas, ...)."""
    return kwh * _lookup(factors.co2_kg_per_kwh, carrier, "CO2")


def primary_energy_kwh(
    kwh: float, carrier: str, basis: str = "tot", factors: Factors = DEFAULT
) -> float:
    """Primary energy for `kwh` delivered; `basis` is 'nren', 'ren' or 'tot'."""
    carrier_factors = factors.primary_energy.get(carrier)
    if carrier_factors is None:
        raise KeyError(f"no primary-energy factors for {carrier!r}; known: "
                       f"{', '.join(sorted(factors.primary_energy))}")
    return kwh * _lookup(carrier_factors, basis, "primary-energy basis")


def smc_to_kwh(smc: float, basis: str = "pci", factors: Factors = DEFAULT) -> float:
    """Standard cubic metres of natural gas to kWh on the PCI (lower) or PCS (upper) basis."""
    return smc * _lookup(factors.gas_kwh_per_smc, basis, "calorific-value basis")


def kwh_to_smc(kwh: float, basis: str = "pci", factors: Factors = DEFAULT) -> float:
    """kWh of natural gas to standard cubic metres on the PCI or PCS basis."""
    return kwh / _lookup(factors.gas_kwh_per_smc, basis, "calorific-value basis")
