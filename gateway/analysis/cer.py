"""Renewable energy community (CER) shared energy, incentive estimate and KPIs.

Rules (DM MASE 7 December 2023 n. 414 and the ARERA TIAD), all parameters in `TariffRules`:
- Shared energy of each hour = min(total fed in, total withdrawn) of the community, computed
  AFTER summing the four quarter hours of the hour (never from quarter-hour minima).
- Every declared plant and member must have the four quarter hours (:00, :15, :30, :45) of every
  hour of the period: a missing hour is unknown energy, not 0 kWh, so it is an error.
- It is allocated to the production plants oldest commissioning date first, each up to what it
  fed in that hour (so incentive-eligible new plants are credited after pre-existing ones).
- Premium tariff (TIP, €/MWh) only for plants commissioned on or after `premium_from` (default
  16 December 2021, the day after D.Lgs. 199/2021 came into force; older plants may join a CER
  — seed 001: "impianti esistenti fino al 30% della potenza complessiva", D.Lgs. 199/2021
  art. 31 — but earn only the ARERA refund). By size: ≤ 200 kW: 80 + max(0, 180 − Pz), cap
  120; 200-600 kW: 70 + max(0, 180 − Pz), cap 110; > 600 kW: 60 + max(0, 180 − Pz), cap 100,
  Pz the zonal price (€/MWh); PV geographic bonus (+4 €/MWh centre, +10 €/MWh north); a capital
  grant reduces the TIP by (1 − F), F growing linearly to 0.5 at a 40 % grant.
- The ARERA refund of network components (€/MWh of shared energy) is a yearly parameter and
  applies to all shared energy.
- 55 %/45 % rule: the premium on the shared energy exceeding 55 % of the energy fed in (45 % with
  a capital grant) must go to consumers other than businesses or to social purposes; flagged.
Verify the parameters against the GSE operating rules in force for the year analysed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway.analysis.errors import AnalysisError

__all__ = ["CerError", "Plant", "TariffRules", "evaluate", "hour_grid", "hourly_shared",
           "premium_eligible", "premium_tariff"]

NORTH = {"emilia-romagna", "friuli-venezia giulia", "liguria", "lombardia", "piemonte",
         "trentino-alto adige", "valle d'aosta", "veneto"}
CENTRE = {"lazio", "marche", "toscana", "umbria", "abruzzo"}
QUARTERS = (0, 15, 30, 45)
HOUR = timedelta(hours=1)


class CerError(AnalysisError):
    """Community data that cannot be evaluated; `where` names the series, plant or key."""

    def __init__(self, where: str, problem: str, hint: str = "", *, value: Any = None,
                 expected: str = "") -> None:
        super().__init__(problem, input=where, value=value, expected=expected, hint=hint)
        self.where = where


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
    premium_from: date = date(2021, 12, 16)  # plants commissioned earlier: refund only
    existing_kw_limit: float = 0.30   # seed 001: existing plants up to 30 % of the power


def premium_eligible(plant: Plant, rules: TariffRules = TariffRules()) -> bool:
    """Whether the plant earns the premium tariff (commissioned on or after the cutoff)."""
    return plant.commissioned >= rules.premium_from


def premium_tariff(plant: Plant, pz: float, rules: TariffRules = TariffRules()) -> float:
    """TIP in €/MWh for an eligible `plant` when the zonal price is `pz` €/MWh."""
    if not 0 <= plant.capital_grant <= rules.max_grant:
        raise CerError(f"plant {plant.id}.capital_grant", "grant share out of range",
                       value=plant.capital_grant, expected=f"a share between 0 and "
                       f"{rules.max_grant}")
    tip = 0.0
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


Series = Iterable[tuple[datetime, float]]  # (quarter-hour start, kWh), any UTC offset


def _quarters(name: str, series: Series) -> dict[datetime, dict[datetime, float]]:
    """Quarter hours grouped by UTC hour; off-grid, duplicate or negative values are errors."""
    hours: dict[datetime, dict[datetime, float]] = defaultdict(dict)
    for start, kwh in series:
        if start.tzinfo is None:
            raise CerError(name, f"timestamp {start} has no UTC offset",
                           "use ISO 8601 with offset, e.g. 2026-06-01T12:00:00+02:00")
        utc = start.astimezone(UTC)
        if utc.minute not in QUARTERS or utc.second or utc.microsecond:
            raise CerError(name, f"timestamp {start.isoformat()} is not a quarter-hour start",
                           "quarter hours start at :00, :15, :30 and :45")
        if not kwh >= 0:  # also rejects NaN
            raise CerError(name, f"energy at {start.isoformat()} is not >= 0 kWh", value=kwh)
        hour = utc.replace(minute=0)
        if utc in hours[hour]:
            raise CerError(name, f"quarter hour {start.isoformat()} appears twice",
                           "keep one value per quarter hour")
        hours[hour][utc] = kwh
    return hours


def hour_grid(start: datetime, end: datetime) -> list[datetime]:
    """Every UTC hour in [start, end)."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    out = []
    while hour < end:
        out.append(hour)
        hour += HOUR
    return out


def _complete(name: str, quarters: dict[datetime, dict[datetime, float]],
              grid: Sequence[datetime]) -> dict[datetime, float]:
    """Hourly sums over `grid`; an hour without its four quarter hours is an error."""
    on_grid = set(grid)
    outside = sorted(h for h in quarters if h not in on_grid)
    if outside:
        raise CerError(name, f"data at {outside[0].isoformat()} outside the period "
                       f"{grid[0].isoformat()} .. {(grid[-1] + HOUR).isoformat()}")
    sums = {}
    for hour in grid:
        n = len(quarters.get(hour, ()))
        if n != 4:
            raise CerError(name, f"hour {hour.isoformat()} has {n} quarter hours, expected 4",
                           "fill the gap in the meter data (missing energy is not 0 kWh)")
        sums[hour] = sum(quarters[hour].values())
    return sums


def _same_ids(where: str, series: dict[str, Series], declared: Iterable[str], what: str,
              declare: str) -> None:
    """Every series belongs to a declared `what`, and every declared one has a series."""
    ids = list(declared)
    stray = sorted(set(series) - set(ids))
    if stray:
        raise CerError(where, f"series for undeclared {what}s {stray}", declare)
    for ident in ids:
        if ident not in series:
            raise CerError(f"{where}[{ident}]", f"declared {what} has no data",
                           f"add its series, or remove the {what} from the community")


def hourly_shared(
    fed_in: dict[str, Series], withdrawn: dict[str, Series], plants: list[Plant], *,
    members: Sequence[str] | None = None, hours: Sequence[datetime] | None = None,
) -> list[dict[str, object]]:
    """Per hour: total fed in, withdrawn, shared, and the shared energy allocated per plant.

    `members` are the declared withdrawal points (default: the keys of `withdrawn`); `hours`
    the expected UTC hours (default: first to last hour found in any series). Every declared
    plant and member must have four quarter hours in every expected hour.
    """
    plant_by_id = {p.id: p for p in plants}
    _same_ids("fed_in", fed_in, plant_by_id, "plant",
              "declare every plant with its size and commissioning date")
    declared = list(members) if members is not None else list(withdrawn)
    _same_ids("withdrawn", withdrawn, declared, "member",
              "list every withdrawal point in the community's members")
    fed_q = {pid: _quarters(f"fed_in[{pid}]", fed_in[pid]) for pid in plant_by_id}
    wdr_q = {mid: _quarters(f"withdrawn[{mid}]", withdrawn[mid]) for mid in declared}
    if hours is None:
        found = set().union(*fed_q.values(), *wdr_q.values())
        if not found:
            raise CerError("series", "no quarter-hour data in any series")
        hours = hour_grid(min(found), max(found) + HOUR)
    if not hours:
        raise CerError("period", "no hours to evaluate")
    fed = {pid: _complete(f"fed_in[{pid}]", q, hours) for pid, q in fed_q.items()}
    wdr = {mid: _complete(f"withdrawn[{mid}]", q, hours) for mid, q in wdr_q.items()}
    order = sorted(fed, key=lambda pid: (plant_by_id[pid].commissioned, pid))
    rows = []
    for hour in hours:
        total_fed = sum(s[hour] for s in fed.values())
        total_wdr = sum(s[hour] for s in wdr.values())
        shared = min(total_fed, total_wdr)
        remaining, allocation = shared, {}
        for pid in order:
            take = min(remaining, fed[pid][hour])
            allocation[pid] = take
            remaining -= take
        rows.append({"hour": hour, "fed_in": total_fed, "withdrawn": total_wdr,
                     "shared": shared, "allocation": allocation,
                     "plant_fed_in": {pid: fed[pid][hour] for pid in order}})
    return rows


def evaluate(
    fed_in: dict[str, Series], withdrawn: dict[str, Series], plants: list[Plant], *,
    zonal_price: float | dict[datetime, float], arera_refund_eur_mwh: float,
    rules: TariffRules = TariffRules(), members: Sequence[str] | None = None,
    hours: Sequence[datetime] | None = None,
) -> dict[str, object]:
    """Totals, per-plant shared energy and incentive, refund, ratios, 55 %/45 % flag, KPIs."""
    rows = hourly_shared(fed_in, withdrawn, plants, members=members, hours=hours)
    plant_by_id = {p.id: p for p in plants}
    eligible = {p.id: premium_eligible(p, rules) for p in plants}
    per_plant: dict[str, dict[str, Any]] = {
        p.id: {"fed_in_kwh": 0.0, "shared_kwh": 0.0, "premium_eur": 0.0,
               "premium_eligible": eligible[p.id], "commissioned": p.commissioned.isoformat(),
               "kw": p.kw} for p in plants}
    for row in rows:
        hour: datetime = row["hour"]  # type: ignore[assignment]
        pz = zonal_price if isinstance(zonal_price, int | float) else zonal_price.get(hour)
        if pz is None:
            raise CerError("zonal_price", f"no price for {hour.isoformat()}")
        for pid, kwh in row["allocation"].items():  # type: ignore[union-attr]
            per_plant[pid]["shared_kwh"] += kwh
            if eligible[pid]:
                per_plant[pid]["premium_eur"] += kwh / 1000 * premium_tariff(
                    plant_by_id[pid], pz, rules)
        for pid, kwh in row["plant_fed_in"].items():  # type: ignore[union-attr]
            per_plant[pid]["fed_in_kwh"] += kwh
    fed_total = sum(r["fed_in"] for r in rows)  # type: ignore[misc]
    wdr_total = sum(r["withdrawn"] for r in rows)  # type: ignore[misc]
    shared_total = sum(r["shared"] for r in rows)  # type: ignore[misc]
    premium = sum(p["premium_eur"] for p in per_plant.values())
    refund = shared_total / 1000 * arera_refund_eur_mwh
    granted = any(p.capital_grant > 0 for p in plants)
    threshold = rules.excess_threshold_with_grant if granted else rules.excess_threshold
    share = shared_total / fed_total if fed_total else 0.0
    excess_kwh = max(0.0, shared_total - threshold * fed_total)
    excess_premium = premium * excess_kwh / shared_total if shared_total else 0.0
    installed_kw = sum(p.kw for p in plants)
    existing_kw = sum(p.kw for p in plants if not eligible[p.id])
    n_members = len(members) if members is not None else len(withdrawn)
    return {
        "hours": len(rows),
        "first_hour": rows[0]["hour"].isoformat(),  # type: ignore[attr-defined]
        "fed_in_kwh": fed_total, "withdrawn_kwh": wdr_total, "shared_kwh": shared_total,
        "self_consumption_ratio": share,
        "self_sufficiency_ratio": shared_total / wdr_total if wdr_total else 0.0,
        "premium_eur": premium, "arera_refund_eur": refund, "incentive_total_eur": premium + refund,
        "premium_from": rules.premium_from.isoformat(),
        "per_plant": per_plant,
        "excess_rule": {"threshold": threshold, "shared_over_fed_in": share,
                        "exceeded": share > threshold, "excess_shared_kwh": excess_kwh,
                        "excess_premium_eur": excess_premium,
                        "note": "premium on the excess goes to non-business consumers or social "
                                "purposes (DM 414/2023)"},
        "existing_plants": {"kw": existing_kw, "share_of_kw": existing_kw / installed_kw
                            if installed_kw else 0.0, "limit": rules.existing_kw_limit,
                            "exceeded": existing_kw > rules.existing_kw_limit * installed_kw},
        "kpi": {
            "installed_kw": installed_kw,
            "members": n_members,
            "shared_kwh_per_kw": shared_total / installed_kw if installed_kw else 0.0,
            "incentive_eur_per_member": (premium + refund) / n_members if n_members else None,
        },
    }
