"""Gateway plugins over the stored series: a degree-day baseline/savings and an expected profile.

BaselinePlugin (entry point ``baseline``), daily or on the 1st of the month:
    fits the CalTRACK degree-day model on [baseline_start, baseline_end) of one channel,
    publishes ``degree_day_baseline`` (model, fit statistics, Guideline 14 check) and, with
    ``reporting_start``, ``savings`` (avoided energy to date with its uncertainty). When the
    data cannot support the method it publishes ``analysis_status`` with the structured error
    (e.g. 120 of 365 days) instead of a number.

ExpectedProfilePlugin (entry point ``expected_profile``), hourly:
    fits the time-of-week-and-temperature model on the last ``training_days`` and publishes
    ``expected`` predictions of the last ``lookback_hours`` (the alert plugin's baseline
    source), with sigma = the model's RMSE.

Example config (gateway.toml):
    [plugins.baseline]
    device = "0000a1b2"          channel = "gas"
    baseline_start = "2023-01-01"     baseline_end = "2024-01-01"    # local dates
    reporting_start = "2024-01-01"    period = "daily"               # or "monthly"
    temperature = { device = "meteo-1", channel = "t_out" }
    [plugins.expected_profile]
    device = "0000a1b2"   channel = "el1"   training_days = 56   lookback_hours = 2
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from gateway.analysis.errors import AnalysisError
from gateway.model import PluginResult

__all__ = ["BaselinePlugin", "ExpectedProfilePlugin"]

ROME = ZoneInfo("Europe/Rome")


def _local_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ROME).astimezone(UTC)


def _check_common(config: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("device", "channel"):
        if not isinstance(config.get(key), str) or not config.get(key):
            problems.append(f"{key}: required, a non-empty string")
    temp = config.get("temperature")
    if temp is not None and not (isinstance(temp, dict) and isinstance(temp.get("device"), str)
                                 and isinstance(temp.get("channel"), str)):
        problems.append("temperature: expected a table { device = \"...\", channel = \"...\" }")
    return problems


def _date(config: dict[str, Any], key: str, problems: list[str]) -> None:
    v = config.get(key)
    if isinstance(v, date):
        return
    try:
        date.fromisoformat(str(v))
    except ValueError:
        problems.append(f"{key}: expected a date YYYY-MM-DD, got {v!r}")


class BaselinePlugin:
    """Degree-day baseline and savings of one channel, recomputed on schedule."""

    schedule_s: ClassVar[int | None] = 86400

    def __init__(self, config: dict[str, Any], context: Any) -> None:
        self.config = config
        self.context = context
        self.device = str(config["device"])
        self.channel = str(config["channel"])
        self.period = str(config.get("period", "daily"))
        self.base_start = date.fromisoformat(str(config["baseline_start"]))
        self.base_end = date.fromisoformat(str(config["baseline_end"]))
        rep = config.get("reporting_start")
        self.rep_start = date.fromisoformat(str(rep)) if rep is not None else None
        self.temperature = config.get("temperature")
        self.min_days = int(config.get("min_days", 365))

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> list[str]:
        """Problems in the plugin's config table, each starting with its key path."""
        problems = _check_common(config)
        for key in ("baseline_start", "baseline_end"):
            _date(config, key, problems)
        if "reporting_start" in config:
            _date(config, "reporting_start", problems)
        if config.get("temperature") is None:
            problems.append("temperature: required for a degree-day baseline")
        if config.get("period", "daily") not in ("daily", "monthly"):
            problems.append(f"period: expected \"daily\" or \"monthly\", "
                            f"got {config.get('period')!r}")
        md = config.get("min_days", 365)
        if not isinstance(md, int) or md < 28:
            problems.append(f"min_days: expected an integer >= 28, got {md!r}")
        return problems

    async def on_schedule(self, now: datetime) -> None:
        """Refit daily, or on the first local day of the month with period = "monthly"."""
        today = now.astimezone(ROME).date()
        if self.period == "monthly" and today.day != 1:
            return
        await self.compute(today)

    async def compute(self, today: date) -> None:
        from gateway.analysis.readings import daily_temperature, daily_usage
        from gateway.analysis.regression import fit_degree_day_model
        from gateway.analysis.savings import avoided_energy
        from gateway.analysis.stats import g14_check

        who = {"device": self.device, "channel": self.channel}
        time = datetime.now(UTC)
        try:
            end = max(today, self.base_end)
            temp_rows = await self.context.series(
                device=self.temperature["device"], channel=self.temperature["channel"],
                start=_local_midnight_utc(self.base_start), end=_local_midnight_utc(end))
            temps = daily_temperature(temp_rows)
            base_rows = await self.context.series(
                **who, start=_local_midnight_utc(self.base_start),
                end=_local_midnight_utc(self.base_end))
            model = fit_degree_day_model(daily_usage(base_rows), temps, min_days=self.min_days)
            await self.context.publish(PluginResult(
                plugin=self.context.name, name="degree_day_baseline", time=time,
                device=self.device, payload={**who, **model.as_dict(),
                                             "g14": g14_check(model.stats).as_dict()}))
            if self.rep_start is not None and self.rep_start < today:
                rep_rows = await self.context.series(
                    **who, start=_local_midnight_utc(self.rep_start),
                    end=_local_midnight_utc(today))
                res = avoided_energy(model, daily_usage(rep_rows, input="reporting"), temps)
                await self.context.publish(PluginResult(
                    plugin=self.context.name, name="savings", time=time, device=self.device,
                    payload={**who, "from": self.rep_start.isoformat(),
                             "to": today.isoformat(), **res.as_dict()}))
        except AnalysisError as exc:
            self.context.logger.warning("baseline not computed: %s", exc)
            await self.context.publish(PluginResult(
                plugin=self.context.name, name="analysis_status", time=time,
                device=self.device, payload={**who, "ok": False, **exc.as_dict()}))


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
        problems = _check_common(config)
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
