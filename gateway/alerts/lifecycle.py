"""Alert lifecycle: raise once after M breaching intervals, clear after N normal ones.

An observation is ``breach``, ``normal`` or ``hold``. Hold is the hysteresis band between the
raise threshold and the clear threshold. While inactive, only an unbroken run of ``breach``
observations counts toward raising: a hold, a normal value or a gap in time resets the run.
While active, only an unbroken run of ``normal`` observations counts toward clearing. A value
hovering at the threshold therefore never flaps: it raises at most once and does not clear
until it has really come back down for the required duration.

Times: ``since`` is the start of the first interval of the run that caused the transition;
``at`` is the end of the interval that completed it (the moment it was known).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["AlertState", "Observation", "Transition", "clear_now", "raise_now", "step"]

Level = Literal["breach", "hold", "normal"]


@dataclass(frozen=True, slots=True)
class Observation:
    """One evaluated interval (or local day) of one alert key."""

    start: datetime
    end: datetime
    value: float | None
    level: Level
    limit: float | None = None
    backfill: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transition:
    """An alert was raised or cleared; this is what is published and e-mailed."""

    kind: Literal["raised", "cleared"]
    key: str
    rule: str
    site: str | None
    device: str | None
    channel: str | None
    at: datetime
    since: datetime
    value: float | None
    limit: float | None
    peak: float | None = None
    backfill: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class AlertState:
    """Everything remembered about one alert key; persisted as JSON between restarts."""

    key: str
    rule: str
    site: str | None = None
    device: str | None = None
    channel: str | None = None
    active: bool = False
    since: datetime | None = None
    raised_at: datetime | None = None
    cleared_at: datetime | None = None
    last_value: float | None = None
    last_end: datetime | None = None
    run: int = 0
    run_start: datetime | None = None
    peak: float | None = None
    emailed: bool = False
    raised_backfill: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        for k, v in doc.items():
            if isinstance(v, datetime):
                doc[k] = v.isoformat()
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> AlertState:
        times = ("since", "raised_at", "cleared_at", "last_end", "run_start")
        fixed = {k: (datetime.fromisoformat(v) if k in times and v else v)
                 for k, v in doc.items() if k in cls.__dataclass_fields__}
        return cls(**fixed)


def _transition(state: AlertState, kind: Literal["raised", "cleared"], at: datetime,
                since: datetime, value: float | None, limit: float | None, backfill: bool,
                detail: dict[str, Any]) -> Transition:
    return Transition(kind, state.key, state.rule, state.site, state.device, state.channel,
                      at, since, value, limit, state.peak, backfill, dict(detail))


def raise_now(state: AlertState, *, at: datetime, since: datetime, value: float | None,
              limit: float | None = None, backfill: bool = False,
              detail: dict[str, Any] | None = None,
              peak: float | None = None) -> Transition | None:
    """Raise unless already active (for rules whose condition is not per interval)."""
    if state.active:
        state.last_value = value
        return None
    state.active, state.since, state.raised_at = True, since, at
    state.peak = peak if peak is not None else value
    state.last_value, state.raised_backfill = value, backfill
    state.run, state.run_start, state.emailed = 0, None, False
    return _transition(state, "raised", at, since, value, limit, backfill, detail or {})


def clear_now(state: AlertState, *, at: datetime, since: datetime, value: float | None,
              limit: float | None = None, backfill: bool = False,
              detail: dict[str, Any] | None = None) -> Transition | None:
    """Clear if active."""
    if not state.active:
        return None
    state.last_value = value
    t = _transition(state, "cleared", at, since, value, limit, backfill, detail or {})
    state.active, state.cleared_at, state.run, state.run_start = False, at, 0, None
    return t


def _worse(state: AlertState, obs: Observation) -> None:
    value, limit = obs.value, obs.limit
    if value is None:
        return
    if state.peak is None or limit is None or abs(value - limit) > abs(state.peak - limit):
        state.peak = value
        # e.g. an anomaly's expected value and z of that interval, for the clear message
        state.extra["peak_detail"] = dict(obs.detail)


def step(state: AlertState, obs: Observation, *, raise_after: int,
         clear_after: int) -> Transition | None:
    """Apply one observation; returns the transition it completes, if any."""
    if state.last_end is not None and obs.start < state.last_end:
        return None  # already seen (duplicate or late): keeps raise-once across replays
    if state.last_end is not None and obs.start != state.last_end:
        state.run = 0  # a gap in the data breaks a run: "consecutive" means adjacent
    state.last_end, state.last_value = obs.end, obs.value
    wanted = "normal" if state.active else "breach"
    if obs.level == "breach":
        if not state.active and state.run == 0:
            state.peak = None  # a new run: its worst value is the raise's peak
            state.extra.pop("peak_detail", None)
        _worse(state, obs)
    if obs.level != wanted:
        state.run, state.run_start = 0, None
        return None
    if state.run == 0:
        state.run_start = obs.start
    state.run += 1
    since = state.run_start or obs.start
    if not state.active and state.run >= raise_after:
        return raise_now(state, at=obs.end, since=since, value=obs.value, limit=obs.limit,
                         backfill=obs.backfill, detail=obs.detail, peak=state.peak)
    if state.active and state.run >= clear_after:
        detail = dict(obs.detail)
        if state.extra.get("peak_detail"):
            detail["at_peak"] = state.extra["peak_detail"]
        return clear_now(state, at=obs.end, since=since, value=obs.value, limit=obs.limit,
                         backfill=obs.backfill, detail=detail)
    return None
