"""Renewable energy community (CER) shared energy, incentive estimate and KPIs.

Rules (DM MASE 7 December 2023 n. 414 and the ARERA TIAD), all parameters configurable:
- Shared energy of each hour = min(total fed in, total withdrawn) of the community, computed
  AFTER summing the four quarter hours of the hour (never from quarter-hour minima).
- It is allocated to the production plants oldest commissioning date first, each up to what it
  fed in that hour (so incentive-eligible new plants are credited after pre-existing ones).
- Premium tariff (TIP, €/MWh) by plant size: ≤ 200 kW: 80 + max(0, 180 − Pz), capped at 120;
  200-600 kW: 70 + max(0, 180 − Pz), cap 110; > 600 kW: 60 + max(0, 180 − Pz), cap 100, where Pz
  is the zonal market price (€/MWh); PV plants get a geographic bonus (+4 €/MWh in Lazio, Marche,
  Toscana, Umbria, Abruzzo; +10 €/MWh in the northern regions); plants with a capital grant have
  the TIP reduced by the factor (1 − F), F growing linearly to 0.5 at a 40 % grant.
- The ARERA refund of network components (€/MWh of shared energy) is a yearly parameter.
- 55 %/45 % rule: the premium on the shared energy exceeding 55 % of the energy fed in (45 % for
  plants with a capital grant) must go to consumers other than businesses or to social purposes;
  the result flags it and reports the excess energy and premium.
Verify the parameters against the GSE operating rules in force for the year analysed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

__all__ = ["CerError", "Plant", "TariffRules", "hourly_shared", "premium_tariff", "evaluate"]

NORTH = {"emilia-romagna", "friuli-venezia giulia", "liguria", "lombardia", "piemonte",
         "trentino-alto adige", "valle d'aosta", "veneto"}
CENTRE = {"lazio", "marche", "toscana", "umbria", "abruzzo"}


class CerError(ValueError):
    """Community data that cannot be evaluated; `where` names the series or plant."""

    def __init__(self, where: str, problem: str, hint: str = "") -> None:
        super().__init__(f"{where}: {problem}" + (f" ({hint})" if hint else ""))
        self.where = where
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Plant:
    """A production plant of the community."""

    id: str
    kw: float
    commissioned: date
    region: str = ""
    pv: bool = True
    capital_grant: float = 0.0  # share of the investment covered by a grant, 0..0.4


@dataclass(frozen=True, slots=True)
class TariffRules:
    """DM 414/2023 premium-tariff parameters (defaults as published; override per year)."""

    bands: tuple[tuple[float, float, float], ...] = ((200, 80, 120), (600, 70, 110),
                                                     (float("inf"), 60, 100))
    pz_reference: float = 180.0
    bonus_north: float = 10.0
    bonus_centre: float = 4.0
    excess_threshold: float = 0.55
    excess_threshold_with_grant: float = 0.45
    max_grant_reduction: float = 0.5   # F at a 40 % grant
    max_grant: float = 0.4


def premium_tariff(plant: Plant, pz: float, rules: TariffRules = TariffRules()) -> float:
    """TIP in €/MWh for `plant` when the zonal price is `pz` €/MWh."""
    if not 0 <= plant.capital_grant <= rules.max_grant:
        raise CerError(f"plant {plant.id}", f"capital_grant {plant.capital_grant}",
                       f"expected a share between 0 and {rules.max_grant}")
    for limit, base, cap in rules.bands:
        if plant.kw <= limit:
            tip = min(cap, base + max(0.0, rules.pz_reference - pz))
            break
    region = plant.region.strip().lower()
    if plant.pv and region in NORTH:
        tip += rules.bonus_north
    elif plant.pv and region in CENTRE:
        tip += rules.bonus_centre
    reduction = rules.max_grant_reduction * plant.capital_grant / rules.max_grant
    return tip * (1.0 - reduction)


Series = Iterable[tuple[datetime, float]]  # (quarter-hour start UTC, kWh)


def _hourly(name: str, series: Series) -> dict[datetime, float]:
    sums: dict[datetime, float] = defaultdict(float)
    counts: dict[datetime, int] = defaultdict(int)
    for start, kwh in series:
        if start.tzinfo is None:
            raise CerError(name, f"timestamp {start} has no UTC offset", "use ISO 8601 with offset")
        if kwh < 0:
            raise CerError(name, f"negative energy {kwh} kWh at {start.isoformat()}")
        hour = start.replace(minute=0, second=0, microsecond=0)
        sums[hour] += kwh
        counts[hour] += 1
    for hour, n in counts.items():
        if n != 4:
            raise CerError(name, f"hour {hour.isoformat()} has {n} quarter hours, expected 4",
                           "fill the gap or drop the hour from every series")
    return sums


def hourly_shared(
    fed_in: dict[str, Series], withdrawn: dict[str, Series], plants: list[Plant]
) -> list[dict[str, object]]:
    """Per hour: total fed in, withdrawn, shared, and the shared energy allocated per plant."""
    plant_by_id = {p.id: p for p in plants}
    unknown = set(fed_in) - set(plant_by_id)
    if unknown:
        raise CerError("fed_in", f"series for unknown plants {sorted(unknown)}",
                       "declare every plant with its size and commissioning date")
    fed = {pid: _hourly(f"fed_in[{pid}]", s) for pid, s in fed_in.items()}
    wdr = {mid: _hourly(f"withdrawn[{mid}]", s) for mid, s in withdrawn.items()}
    hours = sorted(set().union(*fed.values(), *wdr.values()))
    order = sorted(fed, key=lambda pid: (plant_by_id[pid].commissioned, pid))
    rows = []
    for hour in hours:
        total_fed = sum(s.get(hour, 0.0) for s in fed.values())
        total_wdr = sum(s.get(hour, 0.0) for s in wdr.values())
        shared = min(total_fed, total_wdr)
        remaining, allocation = shared, {}
        for pid in order:
            take = min(remaining, fed[pid].get(hour, 0.0))
            allocation[pid] = take
            remaining -= take
        rows.append({"hour": hour, "fed_in": total_fed, "withdrawn": total_wdr,
                     "shared": shared, "allocation": allocation,
                     "plant_fed_in": {pid: fed[pid].get(hour, 0.0) for pid in order}})
    return rows


def evaluate(
    fed_in: dict[str, Series], withdrawn: dict[str, Series], plants: list[Plant], *,
    zonal_price: float | dict[datetime, float], arera_refund_eur_mwh: float,
    rules: TariffRules = TariffRules(), members_count: int | None = None,
) -> dict[str, object]:
    """Totals, per-plant shared energy and incentive, refund, ratios, 55 %/45 % flag, KPIs."""
    rows = hourly_shared(fed_in, withdrawn, plants)
    plant_by_id = {p.id: p for p in plants}
    per_plant: dict[str, dict[str, float]] = {
        pid: {"fed_in_kwh": 0.0, "shared_kwh": 0.0, "premium_eur": 0.0} for pid in fed_in}
    for row in rows:
        hour = row["hour"]
        pz = zonal_price if isinstance(zonal_price, (int, float)) else zonal_price.get(hour)
        if pz is None:
            raise CerError("zonal_price", f"no price for {hour.isoformat()}")
        for pid, kwh in row["allocation"].items():  # type: ignore[union-attr]
            per_plant[pid]["shared_kwh"] += kwh
            tip = premium_tariff(plant_by_id[pid], pz, rules)
            per_plant[pid]["premium_eur"] += kwh / 1000 * tip
        for pid, kwh in row["plant_fed_in"].items():  # type: ignore[union-attr]
            per_plant[pid]["fed_in_kwh"] += kwh
    fed_total = sum(r["fed_in"] for r in rows)  # type: ignore[misc]
    wdr_total = sum(r["withdrawn"] for r in rows)  # type: ignore[misc]
    shared_total = sum(r["shared"] for r in rows)  # type: ignore[misc]
    premium = sum(p["premium_eur"] for p in per_plant.values())
    refund = shared_total / 1000 * arera_refund_eur_mwh
    granted = any(plant_by_id[pid].capital_grant > 0 for pid in fed_in)
    threshold = rules.excess_threshold_with_grant if granted else rules.excess_threshold
    share = shared_total / fed_total if fed_total else 0.0
    excess_kwh = max(0.0, shared_total - threshold * fed_total)
    excess_premium = premium * excess_kwh / shared_total if shared_total else 0.0
    installed_kw = sum(plant_by_id[pid].kw for pid in fed_in)
    return {
        "hours": len(rows),
        "fed_in_kwh": fed_total, "withdrawn_kwh": wdr_total, "shared_kwh": shared_total,
        "self_consumption_ratio": share,
        "self_sufficiency_ratio": shared_total / wdr_total if wdr_total else 0.0,
        "premium_eur": premium, "arera_refund_eur": refund, "incentive_total_eur": premium + refund,
        "per_plant": per_plant,
        "excess_rule": {"threshold": threshold, "shared_over_fed_in": share,
                        "exceeded": share > threshold, "excess_shared_kwh": excess_kwh,
                        "excess_premium_eur": excess_premium,
                        "note": "premium on the excess goes to non-business consumers or social "
                                "purposes (DM 414/2023)"},
        "kpi": {
            "installed_kw": installed_kw,
            "shared_kwh_per_kw": shared_total / installed_kw if installed_kw else 0.0,
            "incentive_eur_per_member": (premium + refund) / members_count
            if members_count else None,
        },
    }

