"""TOML inputs of the lighting-PMVP and EPC settlements, key path in every error.

Percentages in these files are written as percent (40 for 40 %), as in the contracts;
values above 100 are rejected, so 0.40 and 40 cannot be confused silently (0.40 would be
0.4 %, which the table will show).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.analysis.epc import EpcSettlement, epc_settlement
from gateway.analysis.errors import AnalysisError
from gateway.analysis.inputs import read_rows, read_toml
from gateway.analysis.lighting import (
    LightingSettlement,
    contract_burning_hours,
    lighting_pmvp,
    logged_burning_hours,
)
from gateway.analysis.ratio_baseline import ratio_baseline

__all__ = ["epc_from_toml", "lighting_from_toml"]


def _get(table: dict[str, Any], key: str, where: str, *, default: Any = ...) -> Any:
    if key in table:
        return table[key]
    if default is not ...:
        return default
    raise AnalysisError("key missing", input=where, field=key,
                        expected="see docs/ANALYSIS.md for the file format")


def _num(table: dict[str, Any], key: str, where: str, *, default: Any = ...) -> float:
    v = _get(table, key, where, default=default)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise AnalysisError("not a number", input=where, field=key, value=v,
                            expected="a number")
    return float(v)


def _pct(table: dict[str, Any], key: str, where: str, default: Any = ...) -> float:
    v = _num(table, key, where, default=default)
    if not 0 <= v <= 100:
        raise AnalysisError("percentage outside 0..100", input=where, field=key, value=v,
                            expected="percent, e.g. 40 for 40 %")
    return v / 100.0


def _hours(doc: dict[str, Any], base: Path) -> float:
    if "burning_log" in doc:
        from datetime import datetime

        path = base / str(doc["burning_log"])
        rows = read_rows(path, ("on", "off"), input="burning_log")
        try:
            on = [datetime.fromisoformat(r["on"]) for r in rows]
            off = [datetime.fromisoformat(r["off"]) for r in rows]
        except ValueError as exc:
            raise AnalysisError(f"bad timestamp: {exc}", input="burning_log",
                                expected="ISO 8601 with offset") from None
        return logged_burning_hours(on, off)
    if "hours" in doc:
        return _num(doc, "hours", "lighting")
    return contract_burning_hours(int(_num(doc, "year", "lighting")))


def lighting_from_toml(path: Path) -> list[tuple[str, LightingSettlement]]:
    doc = read_toml(path, input="lighting")
    hours = _hours(doc, path.parent)
    price = _num(doc, "price_eur_per_kwh", "lighting")
    towns = _get(doc, "municipality", "lighting")
    out = []
    for i, town in enumerate(towns):
        where = f"lighting.municipality[{i}]"
        offer: dict[str, float] = {}
        if "pct_off" in town:
            offer["pct_off"] = _pct(town, "pct_off", where)
        if "ee_off_kwh" in town:
            offer["ee_off"] = _num(town, "ee_off_kwh", where)
        s = lighting_pmvp(
            ee_bas=_num(town, "ee_bas_kwh", where),
            ee_measured=_num(town, "ee_measured_kwh", where), price=price, hours=hours,
            added_kw=[float(x) for x in town.get("added_kw", [])],
            removed_kw=[float(x) for x in town.get("removed_kw", [])],
            deductible=_pct(doc, "deductible_pct", "lighting", 2.0),
            municipality_share=_pct(doc, "municipality_share_pct", "lighting", 50.0),
            supervisor_rate=_pct(doc, "supervisor_pct", "lighting", 3.5),
            **offer,
        )
        out.append((str(town.get("name", f"#{i + 1}")), s))
    return out


def epc_from_toml(path: Path) -> tuple[list[tuple[str, EpcSettlement]], float, str]:
    doc = read_toml(path, input="epc")
    unit = str(doc.get("unit", "Smc"))
    if "gg_std" in doc:
        gg_std = _num(doc, "gg_std", "epc")
    elif "municipality" in doc:
        from gateway.analysis.degree_days import reference_degree_days

        gg_std = float(reference_degree_days(str(doc["municipality"]),
                                             doc.get("province")).degree_days)
    else:
        raise AnalysisError("reference degree days missing", input="epc", field="gg_std",
                            expected="gg_std = 2592 or municipality = \"Lodi\"")
    if "base_rif" in doc:
        base_rif = _num(doc, "base_rif", "epc")
    else:
        seasons = _get(doc, "baseline_season", "epc")
        fit = ratio_baseline(
            [_num(s, "consumption", f"epc.baseline_season[{i}]") for i, s in enumerate(seasons)],
            [_num(s, "degree_days", f"epc.baseline_season[{i}]") for i, s in enumerate(seasons)],
            gg_std, unit=unit, labels=[str(s.get("label", i + 1)) for i, s in enumerate(seasons)],
            min_periods=int(_num(doc, "min_seasons", "epc", default=3)))
        base_rif = fit.baseline
    out = []
    for i, y in enumerate(_get(doc, "year", "epc")):
        where = f"epc.year[{i}]"
        cmdo = _num(y, "cmdo_eur_h", where, default=None) if "cmdo_eur_h" in y else None
        cmdo_ref = _num(doc, "cmdo_ref_eur_h", "epc") if cmdo is not None else None
        out.append((str(y.get("label", i + 1)), epc_settlement(
            base_rif=base_rif, gg_std=gg_std, gg_i=_num(y, "degree_days", where),
            consumption=_num(y, "consumption", where),
            fuel_price=_num(y, "fuel_price_eur", where),
            guaranteed=_pct(doc, "guaranteed_pct", "epc", 30.0),
            client_share_guaranteed=_pct(doc, "client_share_guaranteed_pct", "epc", 20.0),
            client_share_extra=_pct(doc, "client_share_extra_pct", "epc", 50.0),
            conduction_ref=_num(doc, "conduction_ref_eur", "epc", default=0.0),
            cmdo_i=cmdo, cmdo_ref=cmdo_ref,
            conduction_penalties=_num(y, "conduction_penalties_eur", where, default=0.0),
            unit=unit)))
    return out, base_rif, unit
