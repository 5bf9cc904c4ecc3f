"""Parse and validate ``[plugins.alerts.rules.<name>]`` tables into :class:`Rule` objects.

Every problem names its key path relative to ``[plugins.alerts]`` (the host adds the prefix),
the value found and what is expected. Keys that a rule's kind does not use are problems too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gateway.alerts.rules import KINDS, SEVERITIES, Rule
from gateway.alerts.schedule import parse_hours
from gateway.config.fields import Bad, Table, as_bool, as_choice, as_int, as_number, as_str
from gateway.config.model import Problem
from gateway.normalise.errors import NormaliseError
from gateway.normalise.holidays_it import ExtraDate, parse_extra_dates
from protocol.event import EVENT_CODES

__all__ = ["COMMON_KEYS", "KIND_KEYS", "NO_RUN_KINDS", "RUN_KEYS", "parse_rules"]

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
COMMON_KEYS = ("kind", "site", "device", "channel", "severity", "recipients", "email",
               "description", "for_intervals", "clear_intervals")
# Rules judged per interval or day; no_data and device_event raise on a deadline or an event.
RUN_KEYS = ("for_intervals", "clear_intervals")
NO_RUN_KINDS = ("no_data", "device_event")
_SCHEDULE = ("closures", "zone", "season_start", "season_end")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "threshold": ("metric", "above", "below", "hysteresis"),
    "daily_energy": ("above", "below", "hysteresis"),
    "band_share": ("band", "above", "below", "hysteresis", "min_energy"),
    "closed_building": ("open", "base_load_kw", "base_load_heating_kw", "hysteresis",
                        *_SCHEDULE),
    "gas_outside_heating": ("heating", "max_flow", "hysteresis", *_SCHEDULE),
    "no_data": ("max_intervals", "interval_s"),
    "device_event": ("events", "clear_on", "quiet_s"),
    "anomaly": ("k", "clear_k", "direction", "source", "weeks", "min_weeks",
                "min_sigma", "min_rel_sigma"),
}
# Defaults of (for_intervals, severity) per kind: one quarter hour over a limit is noise, a
# whole day over its energy is not.
_DEFAULTS = {"threshold": (2, "warning"), "daily_energy": (1, "warning"),
             "band_share": (1, "info"), "closed_building": (4, "warning"),
             "gas_outside_heating": (2, "warning"), "no_data": (1, "warning"),
             "device_event": (1, "warning"), "anomaly": (3, "info")}
_BIG = 1e9


def _str_list(noun: str) -> Callable[[Any], tuple[str, ...]]:
    def convert(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise Bad(f"{value!r} is not a list of {noun}", f'a list like ["{noun}"]')
        return tuple(value)
    return convert


def _month_day(value: Any) -> tuple[int, int]:
    try:
        (x,) = parse_extra_dates([value], "x")
    except (NormaliseError, AttributeError):
        raise Bad(f"{value!r} is not a month-day", '"MM-DD", e.g. "11-01"') from None
    return x.month, x.day


def _closures(value: Any) -> tuple[ExtraDate, ...]:
    if not isinstance(value, list):
        raise Bad(f"{value!r} is not a list", 'a list like ["06-24", "2026-12-24"]')
    try:
        return parse_extra_dates(value, "closures")
    except (NormaliseError, AttributeError) as exc:
        raise Bad(f"{getattr(exc, 'value', value)!r} is not a date",
                  '"MM-DD" (every year) or "YYYY-MM-DD" (once)') from None


def parse_rules(t: Table, recipients: set[str]) -> list[Rule]:
    """Every valid rule of the ``rules`` table; problems go to ``t.problems``."""
    rules = []
    for name in list(t.data):
        rt = t.table(name)
        if not NAME.match(name):
            rt.problem("", f"rule name {name!r} has spaces or symbols",
                       expected="letters, digits, _ . -", value=name)
            continue
        rule = _rule(name, rt, recipients)
        rt.finish()
        if rule is not None:
            rules.append(rule)
    return rules


def _rule(name: str, t: Table, recipients: set[str]) -> Rule | None:
    kind = t.take("kind", None, as_choice(*KINDS))
    if kind is None:
        if "kind" not in t.data:
            t.problem("kind", "missing", expected="one of " + ", ".join(KINDS))
        t.seen.update(t.data)  # the kind decides which keys exist: don't pile up more noise
        return None
    common_keys = tuple(k for k in COMMON_KEYS
                        if kind not in NO_RUN_KINDS or k not in RUN_KEYS)
    for key in t.data:
        if key not in common_keys and key not in KIND_KEYS[kind]:
            hint = ("it raises on its own deadline or event, not after a run of intervals"
                    if key in RUN_KEYS else "")
            t.problem(key, f"not used by kind {kind!r}", hint=hint,
                      expected=", ".join(common_keys + KIND_KEYS[kind]), value=t.data[key])
            t.seen.add(key)
    raise_default, severity_default = _DEFAULTS[kind]
    before = len(t.problems)
    common: dict[str, Any] = {
        "name": name, "kind": kind,
        "site": t.take("site", None, as_str()),
        "device": t.take("device", None, as_str()),
        "channel": t.take("channel", None, as_str()),
        "severity": t.take("severity", severity_default, as_choice(*SEVERITIES)),
        "recipients": t.take("recipients", (), _str_list("recipient name")),
        "email": t.take("email", True, as_bool()),
        "description": t.take("description", "", as_str(nonempty=False)),
        "raise_after": t.take("for_intervals", raise_default, as_int(1, 10_000, "a count")),
    }
    common["clear_after"] = t.take("clear_intervals", common["raise_after"],
                                   as_int(1, 10_000, "a count"))
    for i, r in enumerate(common["recipients"]):
        if r not in recipients:
            t.problem(f"recipients[{i}]", f"{r!r} is not a configured recipient", value=r,
                      expected=" or ".join(sorted(recipients)) or "a [recipients.<name>] table")
    if common["device"] is None and kind != "device_event":
        t.problem("device", "missing", expected="the device id, e.g. \"0000a1b2\"")
    if common["channel"] is None and kind not in ("no_data", "device_event"):
        t.problem("channel", "missing", expected="the channel name, e.g. \"el1\" or \"gas\"")
    specific = _KIND_PARSERS[kind](t)
    if len(t.problems) > before:
        return None
    return Rule(**common, **specific)


def _limits(t: Table, noun: str, lo: float = 0.0, hi: float = _BIG) -> dict[str, Any]:
    above = t.take("above", None, as_number(lo, hi, noun))
    below = t.take("below", None, as_number(lo, hi, noun))
    if above is None and below is None and "above" not in t.data and "below" not in t.data:
        t.problem("above", "missing", expected=f"above and/or below, {noun}")
    if above is not None and below is not None and below >= above:
        t.problem("below", f"{below:g} is not below above = {above:g}",
                  expected="below < above", value=below)
    ref = above if above is not None else below or 0.0
    # Default hysteresis: 5 % of the limit, so a value hovering at it cannot flap.
    hyst = t.take("hysteresis", round(abs(ref) * 0.05, 6), as_number(0, hi, noun))
    if (above is not None and below is not None and below < above
            and below + hyst > above - hyst):
        # The two clear bands overlap: no value is normal for both limits, so it never clears.
        t.problem("hysteresis", f"{hyst:g} leaves no normal value between below = {below:g} "
                  f"and above = {above:g}", value=hyst,
                  expected=f"below + hysteresis <= above - hysteresis, i.e. at most "
                           f"{(above - below) / 2:g}",
                  hint="" if "hysteresis" in t.data else "the default is 5 % of above: "
                  "set hysteresis, or move the limits apart")
    return {"above": above, "below": below, "hysteresis": hyst}


def _threshold(t: Table) -> dict[str, Any]:
    metric = t.take("metric", "power", as_choice("power", "energy"))
    noun = "kW (or Smc/h)" if metric == "power" else "kWh (or Smc) per interval"
    return {"metric": metric, **_limits(t, noun)}


def _daily(t: Table) -> dict[str, Any]:
    return {"metric": "energy", **_limits(t, "kWh (or Smc) per local day")}


def _band_share(t: Table) -> dict[str, Any]:
    band = t.take("band", None, as_choice("F1", "F2", "F3", upper=True))
    if band is None and "band" not in t.data:
        t.problem("band", "missing", expected="F1, F2 or F3")
    return {"band": band, **_limits(t, "a percentage", 0.0, 100.0),
            "min_energy": t.take("min_energy", 0.0, as_number(0, _BIG, "kWh per day"))}


def _schedule(t: Table, key: str) -> dict[str, Any]:
    problems: list[Problem] = []
    t.seen.add(key)
    if key not in t.data:
        t.problem(key, "missing", expected='a table like { mon-fri = ["08:00-18:00"] }')
        hours = None
    else:
        hours = parse_hours(t.data[key], t.key(key), problems)
    t.problems.extend(problems)
    start = t.take("season_start", None, _month_day)
    end = t.take("season_end", None, _month_day)
    if (start is None) != (end is None) and not problems:
        t.problem("season_end" if end is None else "season_start", "missing",
                  expected="season_start and season_end together, e.g. \"11-01\" and \"04-15\"")
    return {"hours": hours, "closures": t.take("closures", (), _closures),
            "zone": t.take("zone", None, as_choice(*"ABCDEF", upper=True)),
            "season": (start, end) if start and end else None}


def _closed(t: Table) -> dict[str, Any]:
    base = t.take("base_load_kw", None, as_number(0, _BIG, "kW"))
    if base is None and "base_load_kw" not in t.data:
        t.problem("base_load_kw", "missing", expected="the building's closed-hours load in kW")
    heating = t.take("base_load_heating_kw", None, as_number(0, _BIG, "kW"))
    hyst = t.take("hysteresis", round((base or 0.0) * 0.05, 6), as_number(0, _BIG, "kW"))
    return {"metric": "power", "above": base, "base_load_heating": heating,
            "hysteresis": hyst, **_schedule(t, "open")}


def _gas(t: Table) -> dict[str, Any]:
    flow = t.take("max_flow", 0.0, as_number(0, _BIG, "Smc/h (or m3/h)"))
    hyst = t.take("hysteresis", round(flow * 0.05, 6), as_number(0, _BIG, "Smc/h"))
    return {"metric": "power", "above": flow, "hysteresis": hyst, **_schedule(t, "heating")}


def _no_data(t: Table) -> dict[str, Any]:
    return {"max_intervals": t.take("max_intervals", 4, as_int(1, 100_000, "a count")),
            "interval_s": t.take("interval_s", None, _interval)}


def _interval(value: Any) -> int:
    if isinstance(value, bool) or value not in (900, 3600):
        raise Bad(f"{value!r} is not an interval length", "900 or 3600 (seconds)")
    return int(value)


def _event_kinds(value: Any) -> tuple[str, ...]:
    kinds = _str_list("event kind")(value)
    for kind in kinds:
        if kind not in EVENT_CODES:
            # A typo here would make the rule silently never fire.
            raise Bad(f"{kind!r} is not an event kind a board reports",
                      "a list of " + ", ".join(EVENT_CODES))
    return kinds


def _event(t: Table) -> dict[str, Any]:
    events = t.take("events", (), _event_kinds)
    if not events and "events" not in t.data:
        t.problem("events", "missing", expected='a list like ["tamper", "queue_overflow"]')
    return {"events": events, "clear_on": t.take("clear_on", (), _event_kinds),
            "quiet_s": t.take("quiet_s", 3600, as_int(60, 30 * 86400, "seconds"))}


def _anomaly(t: Table) -> dict[str, Any]:
    k = t.take("k", 3.0, as_number(0.5, 20, "a number of standard deviations"))
    clear_k = t.take("clear_k", max(0.0, k - 1.0), as_number(0, 20, "standard deviations"))
    if clear_k > k:
        t.problem("clear_k", f"{clear_k:g} is above k = {k:g}", expected="clear_k <= k",
                  value=clear_k)
    weeks = t.take("weeks", 4, as_int(1, 52, "a number of weeks"))
    min_weeks = t.take("min_weeks", min(3, weeks), as_int(1, 52, "a number of weeks"))
    if min_weeks > weeks:
        t.problem("min_weeks", f"{min_weeks} is more than weeks = {weeks}",
                  expected="min_weeks <= weeks", value=min_weeks)
    return {"k": k, "clear_k": clear_k,
            "direction": t.take("direction", "above", as_choice("above", "below", "both")),
            "source": t.take("source", "auto", as_choice("auto", "baseline", "profile")),
            "weeks": weeks, "min_weeks": min_weeks,
            "min_sigma": t.take("min_sigma", 0.1, as_number(0, _BIG, "kW (or kWh)")),
            "min_rel_sigma": t.take("min_rel_sigma", 0.05, as_number(0, 10, "a fraction"))}


_KIND_PARSERS: dict[str, Callable[[Table], dict[str, Any]]] = {
    "threshold": _threshold, "daily_energy": _daily, "band_share": _band_share,
    "closed_building": _closed, "gas_outside_heating": _gas, "no_data": _no_data,
    "device_event": _event, "anomaly": _anomaly,
}
