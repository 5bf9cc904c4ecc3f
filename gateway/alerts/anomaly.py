"""Expected values for anomaly rules: the baseline plugin's predictions or a weekly profile.

Both give, for one interval, an expected power (kW, or Smc/h for gas) and a standard deviation.

*Baseline predictions* arrive as results of another plugin (``on_result``) whose ``name`` is
``expected``, ``baseline`` or ``prediction`` and whose payload is either one prediction or a
list under ``intervals``; each has ``start`` (ISO 8601 with offset, or epoch seconds),
``length_s``, ``expected`` (interval energy) and optionally ``sigma`` (same unit). A reading
uses the prediction whose interval contains its start: an hourly model serves quarter hours.

*Rolling profile*: per weekday and local time of day, the values of the last N weeks; expected
= median, sigma = 1.4826 × MAD (a normal distribution's standard deviation), floored by
``min_sigma`` and ``min_rel_sigma`` × |median| so a perfectly flat history does not make every
wobble an anomaly.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.alerts.lifecycle import Level, Observation
from gateway.alerts.rules import Rule
from gateway.model import PluginResult, Reading
from gateway.normalise.localtime import to_local

__all__ = ["PREDICTION_NAMES", "Expected", "Predictions", "Profile", "judge"]

PREDICTION_NAMES = ("expected", "baseline", "prediction")
MAD_TO_SIGMA = 1.4826
KEEP_PREDICTIONS = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class Expected:
    value: float          # expected power
    sigma: float | None   # its standard deviation, None if the source gives none
    source: str           # "baseline" | "profile"
    samples: int = 0


class Profile:
    """Values of one channel by (weekday, local minute of day), newest `weeks` dates kept."""

    def __init__(self, weeks: int) -> None:
        self.weeks = weeks
        self.slots: dict[tuple[int, int], dict[str, float]] = {}

    def add(self, start: datetime, value: float) -> None:
        local = to_local(start)
        slot = self.slots.setdefault((local.weekday(), local.hour * 60 + local.minute), {})
        slot[local.date().isoformat()] = value
        while len(slot) > self.weeks:
            del slot[min(slot)]

    def expected(self, start: datetime, weeks: int, min_weeks: int) -> Expected | None:
        """Median and MAD-sigma of this slot over the `weeks` before `start`'s date."""
        local = to_local(start)
        slot = self.slots.get((local.weekday(), local.hour * 60 + local.minute), {})
        oldest = (local.date() - timedelta(days=7 * weeks)).isoformat()
        today = local.date().isoformat()
        values = [v for d, v in slot.items() if oldest <= d < today]
        if len(values) < min_weeks:
            return None
        med = statistics.median(values)
        mad = statistics.median(abs(v - med) for v in values)
        return Expected(med, MAD_TO_SIGMA * mad, "profile", len(values))


def _instant(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return t.astimezone(UTC) if t.tzinfo is not None else None
    return None


class Predictions:
    """Baseline predictions by (device, channel) and interval start (epoch seconds)."""

    def __init__(self) -> None:
        self.by_channel: dict[tuple[str, str], dict[int, tuple[int, Expected]]] = {}
        self.rejected = 0

    def add(self, result: PluginResult) -> set[tuple[str, str]]:
        """Store the predictions in `result`; returns the channels that got new ones."""
        p = result.payload if isinstance(result.payload, dict) else {}
        items = p.get("intervals") if isinstance(p.get("intervals"), list) else [p]
        touched: set[tuple[str, str]] = set()
        for item in items:
            if not isinstance(item, dict):
                self.rejected += 1
                continue
            device = item.get("device", result.device)
            channel = item.get("channel", p.get("channel"))
            start = _instant(item.get("start"))
            length = item.get("length_s", p.get("length_s", 3600))
            exp, sigma = item.get("expected"), item.get("sigma")
            if (not isinstance(device, str) or not isinstance(channel, str) or start is None
                    or length not in (900, 3600) or not isinstance(exp, int | float)
                    or (sigma is not None and not isinstance(sigma, int | float))):
                self.rejected += 1  # not for us, or malformed: never fatal
                continue
            per_h = 3600.0 / length
            e = Expected(float(exp) * per_h, float(sigma) * per_h if sigma is not None else None,
                         "baseline")
            self.by_channel.setdefault((device, channel), {})[int(start.timestamp())] = (
                length, e)
            touched.add((device, channel))
        return touched

    def lookup(self, device: str, channel: str, start: datetime) -> Expected | None:
        table = self.by_channel.get((device, channel))
        if not table:
            return None
        ts = int(start.timestamp())
        for length in (900, 3600):
            hit = table.get(ts - ts % length)
            if hit is not None and hit[0] == length:
                return hit[1]
        return None

    def prune(self, now: datetime) -> None:
        limit = int((now - KEEP_PREDICTIONS).timestamp())
        for table in self.by_channel.values():
            for ts in [t for t in table if t < limit]:
                del table[ts]


def judge(rule: Rule, r: Reading, power: float, exp: Expected, backfill: bool) -> Observation:
    """Compare one interval's power with its expected value, in standard deviations."""
    sigma = max(exp.sigma or 0.0, rule.min_sigma, rule.min_rel_sigma * abs(exp.value))
    z = (power - exp.value) / sigma if sigma > 0 else 0.0
    up = {"above": z, "below": -z, "both": abs(z)}[rule.direction]
    level: Level = "breach" if up > rule.k else "normal" if up <= rule.clear_k else "hold"
    sign = -1.0 if rule.direction == "below" or (rule.direction == "both" and z < 0) else 1.0
    limit = exp.value + sign * rule.k * sigma
    detail = {"expected": round(exp.value, 6), "sigma": round(sigma, 6), "z": round(z, 3),
              "source": exp.source, "samples": exp.samples}
    end = r.start + timedelta(seconds=r.length_s)
    return Observation(r.start, end, power, level, limit, backfill, detail)


def readings_for_profile(readings: Iterable[Reading]) -> list[tuple[datetime, float]]:
    return [(r.start, r.value * 3600.0 / r.length_s) for r in readings]
