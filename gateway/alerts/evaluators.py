"""Turn readings into observations for interval rules (thresholds, schedules) and day rules.

Interval rules judge each reading on its own: power is the interval energy divided by the
interval length (kW for electricity, Smc/h or m³/h for gas). Day rules add a local day's
readings up (the state's ``extra["day"]`` survives restarts) and judge the day when its last
interval arrives, or when a reading of a later day shows the day is over.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from gateway.alerts.lifecycle import AlertState, Level, Observation
from gateway.alerts.rules import Rule, compare
from gateway.alerts.schedule import Schedule
from gateway.model import Reading
from gateway.normalise.localtime import local_date_of, local_day_bounds_utc

__all__ = ["day_observations", "interval_observation", "rate"]


def rate(r: Reading) -> float:
    """Average power (or flow) over the interval: amount per hour."""
    return r.value * 3600.0 / r.length_s


def interval_observation(rule: Rule, r: Reading, backfill: bool, schedule: Schedule | None,
                         heating: Callable[[date], bool] | None) -> Observation:
    """One reading judged by a threshold, closed-building or gas-outside-heating rule."""
    start, end = r.start, r.start + timedelta(seconds=r.length_s)
    value = rate(r) if rule.metric == "power" else r.value
    if rule.kind == "threshold":
        level, limit = compare(value, rule.above, rule.below, rule.hysteresis)
        return Observation(start, end, value, level, limit, backfill)
    assert schedule is not None  # built at start for every schedule rule
    if schedule.is_on(start, r.length_s):
        # Open (or heating on): says nothing about closed-hours consumption either way.
        return Observation(start, end, value, "hold", None, backfill, {"scheduled": True})
    limit = rule.above
    if (rule.base_load_heating is not None and heating is not None
            and heating(local_date_of(start))):
        limit = rule.base_load_heating
    level, _ = compare(value, limit, None, rule.hysteresis)
    return Observation(start, end, value, level, limit, backfill, {"scheduled": False})


def _close_day(rule: Rule, acc: dict[str, object], complete: bool,
               backfill: bool) -> Observation:
    day = date.fromisoformat(str(acc["date"]))
    start, end = local_day_bounds_utc(day)
    total = float(acc["total"])  # type: ignore[arg-type]
    detail = {"day": day.isoformat(), "intervals": acc["n"], "complete": complete,
              "total": round(total, 6)}
    level: Level
    if rule.kind == "band_share":
        bands: dict[str, float] = acc["bands"]  # type: ignore[assignment]
        if total <= 0 or total < rule.min_energy:
            return Observation(start, end, None, "hold", rule.above, backfill, detail)
        value = 100.0 * bands.get(rule.band or "", 0.0) / total
    else:
        value = total
    level, limit = compare(value, rule.above, rule.below, rule.hysteresis)
    if not complete and level == "breach" and limit == rule.below:
        level = "hold"  # a day with missing intervals is not "too low"; it is incomplete
    return Observation(start, end, value, level, limit, backfill, detail)


def day_observations(rule: Rule, state: AlertState, r: Reading,
                     backfill: bool) -> list[Observation]:
    """Add a reading to its local day; the observations of any day this completes."""
    day = local_date_of(r.start)
    out: list[Observation] = []
    acc = state.extra.get("day")
    if acc is not None and acc["date"] != day.isoformat():
        if date.fromisoformat(acc["date"]) > day:
            return out  # a late reading of a day already judged
        out.append(_close_day(rule, acc, False, backfill))
        acc = None
    if acc is None:
        if state.last_end is not None and r.start < state.last_end:
            state.extra.pop("day", None)
            return out  # that day was judged before (replay after restart)
        acc = {"date": day.isoformat(), "total": 0.0, "bands": {}, "n": 0, "last": None}
    stamp = r.start.isoformat()
    if acc["last"] is not None and stamp <= acc["last"]:
        state.extra["day"] = acc
        return out  # duplicate
    acc["last"] = stamp
    acc["total"] += r.value
    acc["n"] += 1
    if r.band:
        acc["bands"][r.band] = acc["bands"].get(r.band, 0.0) + r.value
    _, day_end = local_day_bounds_utc(day)
    if r.start + timedelta(seconds=r.length_s) >= day_end:
        out.append(_close_day(rule, acc, _complete(acc, day, r.length_s), backfill))
        state.extra.pop("day", None)
    else:
        state.extra["day"] = acc
    return out


def _complete(acc: dict[str, object], day: date, length_s: int) -> bool:
    start, end = local_day_bounds_utc(day)
    return int(acc["n"]) * length_s >= (end - start).total_seconds()  # type: ignore[call-overload]
