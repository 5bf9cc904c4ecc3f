"""Rules that watch presence rather than values: silent devices and board-reported events.

``no_data``: the alert state keeps ``seen`` (the end of the newest interval received) and
``heard`` (the wall-clock time the last reading of any age arrived). On each schedule tick the
alert is raised once ``max(seen, heard, plugin start) + N × interval length`` has passed, *at*
that deadline, whenever the tick notices it. It clears when data arrives again, at the
wall-clock time of arrival, even for backfill: the device is back.

Why ``heard`` and the start: a board catching up its backlog delivers intervals that ended
long ago; judged by ``seen`` alone, every tick between two uploads would raise again, with a
time before the previous clear. And after a gateway outage longer than N intervals every device
looks silent at the first tick; counting from the plugin's start gives boards one deadline to
reconnect and upload before anybody is told. Before any data, the watch starts when the rule
was first loaded.

``device_event``: each listed event kind raises (once) per device; it clears on one of the
``clear_on`` kinds (e.g. power_restore), or else after ``quiet_s`` without a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from gateway.alerts.lifecycle import AlertState, Transition, clear_now, raise_now
from gateway.alerts.rules import Rule
from gateway.model import DeviceEvent, Reading

__all__ = ["event_key", "no_data_key", "on_event", "on_reading", "on_tick", "quiet_clears"]

DEFAULT_INTERVAL_S = 900


def no_data_key(rule: Rule) -> str:
    return f"{rule.name}|{rule.device}|{rule.channel or '*'}"


def event_key(rule: Rule, device: str, kind: str) -> str:
    return f"{rule.name}|{device}|{kind}"


def on_reading(rule: Rule, state: AlertState, r: Reading, now: datetime) -> Transition | None:
    """Data arrived (of any age): move the watch on; clear a raised no-data alert."""
    end = r.start + timedelta(seconds=r.length_s)
    seen = state.extra.get("seen")
    if seen is None or end > datetime.fromisoformat(seen):
        state.extra["seen"] = end.isoformat()
    heard = state.extra.get("heard")
    if heard is None or now > datetime.fromisoformat(heard):
        state.extra["heard"] = now.isoformat()
    state.extra.pop("watch_only", None)
    state.extra["length_s"] = r.length_s
    return clear_now(state, at=now, since=r.start, value=None,
                     detail={"first_start": r.start.isoformat()})


def on_tick(rule: Rule, state: AlertState, now: datetime,
            started: datetime | None = None) -> Transition | None:
    """Raise when the deadline has passed; the watch starts now if nothing was ever seen.

    `started` is when the plugin started: the deadline is never earlier than one full
    deadline after it (grace for boards to reconnect after a gateway outage).
    """
    if "seen" not in state.extra:
        state.extra["seen"] = now.isoformat()
        state.extra["watch_only"] = True
        return None
    seen = datetime.fromisoformat(state.extra["seen"])
    heard = datetime.fromisoformat(state.extra.get("heard") or state.extra["seen"])
    last = max(seen, heard)
    length = rule.interval_s or int(state.extra.get("length_s") or DEFAULT_INTERVAL_S)
    span = timedelta(seconds=length * rule.max_intervals)
    deadline = max(last, started or last) + span
    if now < deadline:
        return None
    missing = int((now - last).total_seconds() // length)
    return raise_now(state, at=deadline, since=last, value=float(missing),
                     limit=float(rule.max_intervals),
                     detail={"last_end": seen.isoformat(), "last_heard": heard.isoformat(),
                             "interval_s": length,
                             "never_seen": bool(state.extra.get("watch_only"))})


def on_event(rule: Rule, states: dict[str, AlertState], e: DeviceEvent, backfill: bool,
             make: Callable[[str, str, str | None], AlertState]) -> list[Transition]:
    """Raise for a listed kind; clear this device's alerts of the rule on a clear_on kind."""
    out: list[Transition] = []
    if e.kind in rule.events:
        state = make(event_key(rule, e.device, e.kind), e.device, e.channel)
        state.extra["last"] = e.time.isoformat()
        state.extra["count"] = int(state.extra.get("count", 0)) + 1
        t = raise_now(state, at=e.time, since=e.time,
                      value=float(e.value) if e.value is not None else None, backfill=backfill,
                      detail={"event": e.kind, **{k: v for k, v in e.details.items()}})
        if t is not None:
            out.append(t)
    if e.kind in rule.clear_on:
        prefix = f"{rule.name}|{e.device}|"
        for key, state in states.items():
            if key.startswith(prefix):
                t = clear_now(state, at=e.time, since=e.time, value=None, backfill=backfill,
                              detail={"event": e.kind})
                if t is not None:
                    out.append(t)
    return out


def quiet_clears(rule: Rule, states: dict[str, AlertState], now: datetime) -> list[Transition]:
    """Without clear_on kinds, an event alert clears after quiet_s with no repeat."""
    out: list[Transition] = []
    if rule.clear_on:
        return out
    for key, state in states.items():
        if not key.startswith(f"{rule.name}|") or not state.active or "last" not in state.extra:
            continue
        last = datetime.fromisoformat(state.extra["last"])
        at = last + timedelta(seconds=rule.quiet_s)
        if now >= at:
            t = clear_now(state, at=at, since=last, value=None,
                          detail={"quiet_s": rule.quiet_s})
            if t is not None:
                out.append(t)
    return out
