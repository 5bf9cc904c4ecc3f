"""The rule engine: routes readings, events, results and ticks to rules; keeps alert states.

It does no I/O. Each entry point returns the transitions it caused; the keys whose state
changed are collected in :attr:`AlertEngine.dirty` for the plugin to persist in the same
transaction as the transitions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from gateway.alerts import watch
from gateway.alerts.anomaly import PREDICTION_NAMES, Expected, Predictions, Profile, judge
from gateway.alerts.errors import RuleError
from gateway.alerts.evaluators import day_observations, interval_observation, rate
from gateway.alerts.lifecycle import AlertState, Transition, step
from gateway.alerts.rules import INTERVAL_KINDS, Rule
from gateway.alerts.schedule import Schedule
from gateway.model import DeviceEvent, PluginResult, Reading, ReadingBatch
from gateway.normalise.errors import NormaliseError
from gateway.normalise.holidays_it import parse_extra_dates
from gateway.normalise.sites import HeatingSeason, heating_season

__all__ = ["AlertEngine", "site_problems"]

MAX_PENDING = 2000   # readings waiting for a baseline prediction, per rule and channel
PENDING_FOR = timedelta(hours=48)
# source = "auto": how long after its end a reading waits for a late baseline prediction
# before the rolling profile judges it. The expected_profile plugin publishes, each hour, the
# intervals of the last lookback_hours (default 2): a prediction comes at most ~1 h 15 min
# after the end of the quarter hour it covers; 3 h leaves room for a busy plugin queue.
AUTO_WAIT = timedelta(hours=3)


def _season(rule: Rule, site: dict[str, Any] | None) -> Callable[[date], bool]:
    if rule.season is not None:
        return HeatingSeason("custom", rule.season[0], rule.season[1], None).contains
    zone = rule.zone or (site or {}).get("zone")
    if not zone:
        raise RuleError("no climate zone: the site is unknown and the rule has no zone",
                        where=f"rules.{rule.name}", hint='add zone = "D" or site = "<site>"')
    return heating_season(str(zone)).contains


class AlertEngine:
    """Alert states by key plus the per-channel memory that anomaly rules need."""

    def __init__(self, rules: Iterable[Rule], *, sites: dict[str, dict[str, Any]],
                 default_site: str | None = None, live_window_s: int = 7200,
                 started: datetime | None = None) -> None:
        self.rules = tuple(rules)
        self.started = started  # no_data deadlines give one full deadline of grace after it
        self.states: dict[str, AlertState] = {}
        self.dirty: set[str] = set()
        self.live_window = timedelta(seconds=live_window_s)
        self.schedules: dict[str, Schedule] = {}
        self.heating: dict[str, Callable[[date], bool]] = {}
        self.profiles: dict[tuple[str, str], Profile] = {}
        self.predictions = Predictions()
        self.predicted: set[tuple[str, str]] = set()   # channels a baseline has predicted
        self.pending: dict[tuple[str, str, str], list[tuple[Reading, bool]]] = {}
        for rule in self.rules:
            self._prepare(rule, sites, default_site)

    def _prepare(self, rule: Rule, sites: dict[str, dict[str, Any]],
                 default_site: str | None) -> None:
        if rule.site is not None and rule.site not in sites:
            raise RuleError(f"{rule.site!r} is not a configured site",
                            where=f"rules.{rule.name}.site",
                            hint="use the name of a [sites.<name>] table")
        site = sites.get(rule.site or default_site or "") or (
            next(iter(sites.values())) if len(sites) == 1 else None)
        if rule.kind in ("closed_building", "gas_outside_heating"):
            try:
                extra = parse_extra_dates(list((site or {}).get("holidays", ())),
                                          "site.holidays")
            except NormaliseError as exc:
                raise RuleError(str(exc), where=f"rules.{rule.name}") from None
            needs_season = rule.kind == "gas_outside_heating" or rule.base_load_heating
            season = _season(rule, site) if needs_season else None
            assert rule.hours is not None  # rule_config requires it
            self.schedules[rule.name] = Schedule.build(
                rule.hours, extra + rule.closures,
                season if rule.kind == "gas_outside_heating" else None)
            if season is not None:
                self.heating[rule.name] = season
        if rule.kind == "anomaly" and rule.device and rule.channel:
            weeks = max(rule.weeks, self.profile_weeks(rule.device, rule.channel))
            self.profiles.setdefault((rule.device, rule.channel), Profile(weeks)).weeks = weeks

    def profile_weeks(self, device: str, channel: str) -> int:
        p = self.profiles.get((device, channel))
        return p.weeks if p else 0

    # -- state ---------------------------------------------------------------------------------

    def load(self, states: Iterable[AlertState]) -> None:
        for s in states:
            self.states[s.key] = s

    def state(self, key: str, rule: Rule, device: str | None,
              channel: str | None, site: str | None = None) -> AlertState:
        s = self.states.get(key)
        if s is None:
            s = self.states[key] = AlertState(key, rule.name, site or rule.site, device, channel)
        self.dirty.add(key)
        return s

    def _step(self, rule: Rule, r: Reading, obs_list: Iterable[Any]) -> list[Transition]:
        key = f"{rule.name}|{r.device}|{r.channel}"
        state = self.state(key, rule, r.device, r.channel, r.site)
        state.extra["unit"] = r.unit
        out = []
        for obs in obs_list:
            t = step(state, obs, raise_after=rule.raise_after, clear_after=rule.clear_after)
            if t is not None:
                out.append(t)
        return out

    # -- entry points --------------------------------------------------------------------------

    def readings(self, batch: ReadingBatch, now: datetime) -> list[Transition]:
        out: list[Transition] = []
        for r in sorted(batch.readings, key=lambda x: (x.device, x.channel, x.start)):
            backfill = not batch.live or "backfill" in r.flags
            out.extend(self.reading(r, backfill, now))
        return out

    def reading(self, r: Reading, backfill: bool, now: datetime) -> list[Transition]:
        out: list[Transition] = []
        for rule in self.rules:
            if not rule.matches(r.site, r.device, r.channel):
                continue
            if rule.kind in INTERVAL_KINDS:
                obs = interval_observation(rule, r, backfill, self.schedules.get(rule.name),
                                           self.heating.get(rule.name))
                out.extend(self._step(rule, r, [obs]))
            elif rule.kind in ("daily_energy", "band_share"):
                key = f"{rule.name}|{r.device}|{r.channel}"
                state = self.state(key, rule, r.device, r.channel, r.site)
                observations = day_observations(rule, state, r, backfill)
                out.extend(self._step(rule, r, observations))
            elif rule.kind == "no_data":
                state = self.state(watch.no_data_key(rule), rule, rule.device, rule.channel,
                                   r.site)
                state.extra["unit"] = r.unit
                t = watch.on_reading(rule, state, r, now)
                out.extend([t] if t else [])
            elif rule.kind == "anomaly":
                out.extend(self._anomaly(rule, r, backfill, now))
        profile = self.profiles.get((r.device, r.channel))
        if profile is not None:
            profile.add(r.start, rate(r))  # after judging: a value is not its own expectation
        return out

    def _anomaly(self, rule: Rule, r: Reading, backfill: bool,
                 now: datetime) -> list[Transition]:
        queue = self.pending.setdefault((rule.name, r.device, r.channel), [])
        queue.append((r, backfill))
        del queue[:-MAX_PENDING]
        return self._drain(rule, queue, now)

    def _expected(self, rule: Rule, r: Reading, now: datetime) -> Expected | bool | None:
        """The expected value for `r`; False: wait for a baseline prediction; None: none."""
        if rule.source != "profile":
            exp = self.predictions.lookup(r.device, r.channel, r.start)
            if exp is not None:
                return exp
            if rule.source == "baseline":
                return False
            # auto: once the baseline has spoken for this channel, its predictions may still
            # come (they are published after the readings they cover); wait a bounded time.
            end = r.start + timedelta(seconds=r.length_s)
            if (r.device, r.channel) in self.predicted and now - end < AUTO_WAIT:
                return False
        return self.profiles[(r.device, r.channel)].expected(r.start, rule.weeks,
                                                             rule.min_weeks)

    def _drain(self, rule: Rule, queue: list[tuple[Reading, bool]],
               now: datetime) -> list[Transition]:
        """Judge waiting readings in order ("consecutive" needs the earlier interval first)."""
        out: list[Transition] = []
        while queue:
            r, backfill = queue[0]
            exp = self._expected(rule, r, now)
            if exp is False:
                break
            queue.pop(0)
            if isinstance(exp, Expected):
                out.extend(self._step(rule, r, [judge(rule, r, rate(r), exp, backfill)]))
            # None: no expectation yet (too little history); the reading is not judged
        return out

    def result(self, result: PluginResult, now: datetime) -> list[Transition]:
        """A baseline prediction: judge the readings that waited for it, in order."""
        if result.name not in PREDICTION_NAMES:
            return []
        touched = self.predictions.add(result)
        self.predicted.update(touched)
        out: list[Transition] = []
        for (name, device, channel), queue in self.pending.items():
            if (device, channel) in touched and queue:
                rule = next(r for r in self.rules if r.name == name)
                out.extend(self._drain(rule, queue, now))
        return out

    def event(self, e: DeviceEvent, now: datetime) -> list[Transition]:
        backfill = now - e.time > self.live_window
        out: list[Transition] = []
        for rule in self.rules:
            if rule.kind == "device_event" and rule.matches(e.site, e.device, e.channel):
                def make(key: str, device: str, channel: str | None,
                         rule: Rule = rule) -> AlertState:
                    return self.state(key, rule, device, channel, e.site)
                out.extend(watch.on_event(rule, self.states, e, backfill, make))
                self.dirty.update(k for k in self.states if k.startswith(f"{rule.name}|"))
        return out

    def tick(self, now: datetime) -> list[Transition]:
        """Wall-clock checks: silent devices, quiet event alerts, stale pending readings."""
        out: list[Transition] = []
        for rule in self.rules:
            if rule.kind == "no_data":
                state = self.state(watch.no_data_key(rule), rule, rule.device, rule.channel)
                t = watch.on_tick(rule, state, now, self.started)
                out.extend([t] if t else [])
            elif rule.kind == "device_event":
                cleared = watch.quiet_clears(rule, self.states, now)
                self.dirty.update(t.key for t in cleared)
                out.extend(cleared)
        self.predictions.prune(now)
        for (name, _, _), queue in self.pending.items():
            queue[:] = [(r, b) for r, b in queue if now - r.start < PENDING_FOR]
            if queue:  # auto rules fall back to the profile once AUTO_WAIT has passed
                rule = next(r for r in self.rules if r.name == name)
                out.extend(self._drain(rule, queue, now))
        return out

    def profile_channels(self) -> list[tuple[str, str, int]]:
        """(device, channel, weeks) whose profile should be filled from stored history."""
        return [(d, c, p.weeks) for (d, c), p in self.profiles.items()]

    def prefill(self, device: str, channel: str, readings: Iterable[Reading]) -> None:
        profile = self.profiles.get((device, channel))
        if profile is not None:
            for r in readings:
                profile.add(r.start, rate(r))


def site_problems(rules: Iterable[Rule], sites: dict[str, dict[str, Any]]) -> list[str]:
    """What would stop each rule at start (unknown site, no climate zone, bad holidays)."""
    problems = []
    for rule in rules:
        try:
            AlertEngine([rule], sites=sites)
        except RuleError as exc:
            problems.append(str(exc))
    return problems
