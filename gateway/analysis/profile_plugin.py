"""Gateway plugin: the expected interval energy of a channel, for the alert plugin.

ExpectedProfilePlugin (entry point ``expected_profile``), hourly: fits the time-of-week-and-
temperature model (gateway.analysis.towt) on the last ``training_days`` once a day and
publishes ``expected`` predictions of the last ``lookback_hours``, with sigma = the model's
RMSE; the alert plugin's anomaly rules with ``source = "baseline"`` judge readings against
them. Without a temperature channel the model is time-of-week only.

    [plugins.expected_profile]
    device = "0000a1b2"   channel = "el1"   training_days = 56   lookback_hours = 2
    temperature = { device = "meteo-1", channel = "t_out" }      # optional
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from gateway.analysis.errors import AnalysisError
from gateway.model import PluginResult

__all__ = ["ExpectedProfilePlugin", "check_common"]

ROME = ZoneInfo("Europe/Rome")


def check_common(config: dict[str, Any]) -> list[str]:
    """Key-path problems of the keys both analysis plugins share."""
    problems = []
    for key in ("device", "channel"):
        if not isinstance(config.get(key), str) or not config.get(key):
            problems.append(f"{key}: required, a non-empty string")
    temp = config.get("temperature")
    if temp is not None and not (isinstance(temp, dict) and isinstance(temp.get("device"), str)
                                 and isinstance(temp.get("channel"), str)):
        problems.append("temperature: expected a table { device = \"...\", channel = \"...\" }")
    return problems


class ExpectedProfilePlugin:
    """Expected interval energy from a time-of-week-and-temperature model, for alerts."""

    schedule_s: ClassVar[int | None] = 3600

    def __init__(self, config: dict[str, Any], context: Any) -> None:
        self.context = context
        self.device = str(config["device"])
        self.channel = str(config["channel"])
        self.training_days = int(config.get("training_days", 56))
        self.min_days = int(config.get("min_days", 28))
        self.lookback_h = int(config.get("lookback_hours", 2))
        self.temperature = config.get("temperature")
        self._model: Any = None
        self._fitted_on: date | None = None

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> list[str]:
        """Problems in the plugin's config table, each starting with its key path."""
        problems = check_common(config)
        for key, lo in (("training_days", 7), ("min_days", 7), ("lookback_hours", 1)):
            v = config.get(key)
            if v is not None and (not isinstance(v, int) or v < lo):
                problems.append(f"{key}: expected an integer >= {lo}, got {v!r}")
        md, td = config.get("min_days", 28), config.get("training_days", 56)
        if isinstance(md, int) and isinstance(td, int) and md > td:
            problems.append("min_days: cannot exceed training_days")
        return problems

    async def _temps(self, starts: list[datetime], start: datetime, end: datetime
                     ) -> list[float]:
        """Outdoor temperature of the hour containing each interval start."""
        if self.temperature is None:
            return [0.0] * len(starts)   # time-of-week only: a constant drops out of the fit
        t_rows = await self.context.series(device=self.temperature["device"],
                                           channel=self.temperature["channel"],
                                           start=start, end=end)
        hourly = {int(r.start.timestamp()) // 3600: r.value for r in t_rows}
        out = []
        for s in starts:
            key = int(s.timestamp()) // 3600
            if key not in hourly:
                raise AnalysisError("no outdoor temperature for an interval",
                                    input="temperature", field="start",
                                    value=s.isoformat(), expected="hourly temperature")
            out.append(hourly[key])
        return out

    async def on_schedule(self, now: datetime) -> None:
        """Refit once a day; publish the expected energy of the last lookback hours."""
        from gateway.analysis.towt import fit_towt

        time = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        who = {"device": self.device, "channel": self.channel}
        try:
            today = time.astimezone(ROME).date()
            if self._model is None or self._fitted_on != today:
                start = time - timedelta(days=self.training_days)
                rows = await self.context.series(**who, start=start, end=time)
                if not rows:
                    raise AnalysisError("no readings to train on", input="baseline",
                                        hint="wait for data or lower training_days")
                temps = await self._temps([r.start for r in rows], start, time)
                self._model = fit_towt([r.start for r in rows], [r.value for r in rows], temps,
                                       unit=rows[0].unit, length_s=rows[0].length_s,
                                       min_days=self.min_days)
                self._fitted_on = today
            model = self._model
            start = time - timedelta(hours=self.lookback_h)
            step = timedelta(seconds=model.length_s)
            starts = [start + i * step for i in range(int(self.lookback_h * 3600
                                                          // model.length_s))]
            temps = await self._temps(starts, start, time)
            expected = model.predict(starts, temps)
            sigma = model.stats.rmse * model.length_s / 3600.0
            await self.context.publish(PluginResult(
                plugin=self.context.name, name="expected", time=time, device=self.device,
                payload={**who, "length_s": model.length_s, "unit": model.unit,
                         "intervals": [{"start": s.isoformat(), "expected": float(e),
                                        "sigma": sigma} for s, e in zip(starts, expected,
                                                                        strict=True)]}))
        except AnalysisError as exc:
            self.context.logger.warning("expected profile not computed: %s", exc)
            await self.context.publish(PluginResult(
                plugin=self.context.name, name="analysis_status", time=time,
                device=self.device, payload={**who, "ok": False, **exc.as_dict()}))
