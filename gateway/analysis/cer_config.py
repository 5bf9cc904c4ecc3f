"""Validation of a CER description (plants, members, prices, tariff overrides) from TOML.

Shared by `meterkit analyze cer` (community file) and the `[plugins.cer]` gateway plugin, so both
accept the same keys and report every problem with its key path, the value and what to do.
"""

from __future__ import annotations

import math
from dataclasses import fields
from datetime import date
from typing import Any

from gateway.analysis.cer import Plant, TariffRules

__all__ = ["REGIONS", "parse_members", "parse_plants", "parse_price", "parse_tariff"]

REGIONS = {"abruzzo", "basilicata", "calabria", "campania", "emilia-romagna",
           "friuli-venezia giulia", "lazio", "liguria", "lombardia", "marche", "molise",
           "piemonte", "puglia", "sardegna", "sicilia", "toscana", "trentino-alto adige",
           "umbria", "valle d'aosta", "veneto"}
RATIO_KEYS = ("excess_threshold", "excess_threshold_with_grant", "max_grant_reduction",
              "max_grant", "existing_kw_limit")
PRICE_KEYS = ("pz_reference", "bonus_north", "bonus_centre")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
        value)


def parse_price(doc: dict[str, Any], key: str, where: str, problems: list[str]) -> float:
    """A price in €/MWh >= 0 at `where.key`; 0.0 (and a problem) when it is not."""
    value = doc.get(key)
    if not _is_number(value) or value < 0:
        problems.append(f"{where}{key}: {value!r} (expected a price >= 0 in €/MWh, e.g. "
                        f"{key} = 110.0)")
        return 0.0
    return float(value)


def _text(row: dict[str, Any], key: str, where: str, problems: list[str]) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}.{key}: {value!r} (expected a non-empty string)")
        return ""
    return value


def parse_plants(rows: Any, where: str, problems: list[str], *,
                 extra: tuple[str, ...] = ()) -> list[Plant]:
    """[[plant]] tables: id, kw, commissioned (TOML date), region, pv, capital_grant (+extra)."""
    if not isinstance(rows, list) or not rows:
        problems.append(f"{where}: missing (expected at least one [[{where}]] table with id, kw "
                        "and commissioned)")
        return []
    known = {"id", "kw", "commissioned", "region", "pv", "capital_grant", *extra}
    plants, seen = [], set()
    for i, row in enumerate(rows):
        at = f"{where}[{i}]"
        before = len(problems)
        if not isinstance(row, dict):
            problems.append(f"{at}: {row!r} (expected a table)")
            continue
        for key in sorted(set(row) - known):
            problems.append(f"{at}.{key}: unknown key (known: {', '.join(sorted(known))})")
        for key in extra:
            _text(row, key, at, problems)
        pid = _text(row, "id", at, problems)
        if pid in seen:
            problems.append(f"{at}.id: {pid!r} declared twice (ids must be unique)")
        seen.add(pid)
        kw = row.get("kw")
        if not _is_number(kw) or kw <= 0:
            problems.append(f"{at}.kw: {kw!r} (expected the plant's power in kW > 0)")
        commissioned = row.get("commissioned")
        if not isinstance(commissioned, date):
            problems.append(f"{at}.commissioned: {commissioned!r} (expected a TOML date, "
                            "e.g. commissioned = 2025-03-01)")
        region = row.get("region", "")
        if not isinstance(region, str) or (region and region.strip().lower() not in REGIONS):
            problems.append(f"{at}.region: {region!r} (expected an Italian region, e.g. "
                            "\"Liguria\", or leave it out: the geographic bonus needs it)")
        pv = row.get("pv", True)
        if not isinstance(pv, bool):
            problems.append(f"{at}.pv: {pv!r} (expected true or false)")
        grant = row.get("capital_grant", 0.0)
        if not _is_number(grant) or not 0 <= grant <= 0.4:
            problems.append(f"{at}.capital_grant: {grant!r} (expected the share of the "
                            "investment covered by a grant, 0 to 0.4)")
        if len(problems) == before:
            plants.append(Plant(pid, float(kw), commissioned, region, pv, float(grant)))
    return plants


def parse_members(rows: Any, where: str, problems: list[str], *,
                  tables: bool = False) -> list[str]:
    """Member ids: a list of strings (CLI) or [[members]] tables with id, device, channel."""
    if not isinstance(rows, list) or not rows:
        form = "[[members]] tables with id, device and channel" if tables else \
            'a list of withdrawal-point ids, e.g. members = ["scuola", "casa-1"]'
        problems.append(f"{where}: missing (expected {form})")
        return []
    ids: list[str] = []
    for i, row in enumerate(rows):
        at = f"{where}[{i}]"
        if tables:
            if not isinstance(row, dict):
                problems.append(f"{at}: {row!r} (expected a table with id, device, channel)")
                continue
            for key in sorted(set(row) - {"id", "device", "channel"}):
                problems.append(f"{at}.{key}: unknown key (known: channel, device, id)")
            _text(row, "device", at, problems)
            _text(row, "channel", at, problems)
            mid = _text(row, "id", at, problems)
        elif isinstance(row, str) and row.strip():
            mid = row
        else:
            problems.append(f"{at}: {row!r} (expected a withdrawal-point id string)")
            continue
        if mid in ids:
            problems.append(f"{at}: {mid!r} declared twice (ids must be unique)")
        ids.append(mid)
    return ids


def parse_tariff(table: Any, where: str, problems: list[str]) -> TariffRules:
    """`[tariff]` overrides of the DM 414/2023 parameters; defaults for keys left out."""
    if table is None:
        return TariffRules()
    if not isinstance(table, dict):
        problems.append(f"{where}: {table!r} (expected a table of tariff parameters)")
        return TariffRules()
    known = [f.name for f in fields(TariffRules)]
    values: dict[str, Any] = {}
    for key, value in table.items():
        at = f"{where}.{key}"
        if key not in known:
            problems.append(f"{at}: unknown key (known: {', '.join(known)})")
        elif key == "premium_from":
            if isinstance(value, date):
                values[key] = value
            else:
                problems.append(f"{at}: {value!r} (expected a TOML date, e.g. 2021-12-16)")
        elif key == "bands":
            bands = _bands(value, at, problems)
            if bands:
                values[key] = bands
        elif not _is_number(value) or value < 0 or (key in RATIO_KEYS and value > 1):
            expected = "a share between 0 and 1" if key in RATIO_KEYS else "€/MWh >= 0"
            problems.append(f"{at}: {value!r} (expected {expected})")
        else:
            values[key] = float(value)
    if values.get("max_grant") == 0:
        problems.append(f"{where}.max_grant: 0 (expected a share > 0)")
        values.pop("max_grant")
    return TariffRules(**values)


def _bands(value: Any, at: str, problems: list[str]) -> tuple[tuple[float, float, float], ...]:
    hint = "expected [[limit_kw, base, cap], ...] with rising limits, the last one inf"
    if not isinstance(value, list) or not value:
        problems.append(f"{at}: {value!r} ({hint})")
        return ()
    out = []
    for i, band in enumerate(value):
        ok = isinstance(band, list) and len(band) == 3 and all(
            isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in band)
        if not ok or (out and band[0] <= out[-1][0]):
            problems.append(f"{at}[{i}]: {band!r} ({hint})")
            return ()
        out.append((float(band[0]), float(band[1]), float(band[2])))
    if out[-1][0] != math.inf:
        problems.append(f"{at}: last limit {out[-1][0]:g} kW ({hint}, so every plant has a "
                        "band)")
        return ()
    return tuple(out)
