"""Gateway plugins over the stored series: a degree-day baseline/savings and an expected profile.

BaselinePlugin (entry point ``baseline``), daily or on the 1st of the month:
    method "regression": fits the CalTRACK degree-day model on [baseline_start, baseline_end)
    of one channel, publishes ``degree_day_baseline`` (model, fit statistics, Guideline 14
    check) and, with ``reporting_start``, ``savings`` (avoided energy to date with its
    uncertainty). Method "ratio" (seed 004's contract): sums consumption and degree days per
    heating season of ``zone`` over the same days, publishes ``ratio_baseline`` (Base_rif at
    ``gg_std``) and ``savings`` per reporting season to date. When the data cannot support
    the method it publishes ``analysis_status`` with the structured error (e.g. 120 of 365
    days) instead of a number.

ExpectedProfilePlugin (entry point ``expected_profile``, gateway.analysis.profile_plugin,
re-exported here): the alert plugin's expected profile.

Example config (gateway.toml):
    [plugins.baseline]
    device = "0000a1b2"          channel = "gas"
    baseline_start = "2023-01-01"     baseline_end = "2024-01-01"    # local dates
    reporting_start = "2024-01-01"    period = "daily"               # or "monthly"
    temperature = { device = "meteo-1", channel = "t_out" }
    # method = "ratio"   zone = "E"   gg_std = 2592   min_seasons = 3   (seed 004 contract)
    [plugins.expected_profile]
    device = "0000a1b2"   channel = "el1"   training_days = 56   lookback_hours = 2
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from gateway.analysis.errors import AnalysisError
from gateway.analysis.profile_plugin import ExpectedProfilePlugin, check_common
from gateway.model import PluginResult

__all__ = ["BaselinePlugin", "ExpectedProfilePlugin"]

ROME = ZoneInfo("Europe/Rome")


def _local_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ROME).astimezone(UTC)


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
        self.method = str(config.get("method", "regression"))
        self.zone = config.get("zone")
        self.gg_std = config.get("gg_std")
        self.min_seasons = int(config.get("min_seasons", 3))
        # CalTRACK 2.0 exactly (daily-mean degree days only), for contracts that name it
        self.strict_caltrack = bool(config.get("strict_caltrack", False))

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> list[str]:
        """Problems in the plugin's config table, each starting with its key path."""
        problems = check_common(config)
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
        if not isinstance(config.get("strict_caltrack", False), bool):
            problems.append(f"strict_caltrack: expected true or false, "
                            f"got {config.get('strict_caltrack')!r}")
        method = config.get("method", "regression")
        if method not in ("regression", "ratio"):
            problems.append(f"method: expected \"regression\" or \"ratio\", got {method!r}")
        if method == "ratio":
            if config.get("zone") not in ("A", "B", "C", "D", "E", "F"):
                problems.append(f"zone: climate zone A..F required by the ratio method, "
                                f"got {config.get('zone')!r}")
            gg = config.get("gg_std")
            if isinstance(gg, bool) or not isinstance(gg, int | float) or gg <= 0:
                problems.append(f"gg_std: reference degree days > 0 required by the ratio "
                                f"method (DPR 412/93, e.g. 2592 for Lodi), got {gg!r}")
        return problems

    async def on_schedule(self, now: datetime) -> None:
        """Refit daily, or on the first local day of the month with period = "monthly"."""
        today = now.astimezone(ROME).date()
        if self.period == "monthly" and today.day != 1:
            return
        await self.compute(today)

    async def compute(self, today: date) -> None:
        """Fit and publish; AnalysisError becomes an `analysis_status` result."""
        if self.method == "ratio":
            await self._compute_ratio(today)
            return
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
            spreads = {"temperature_spreads": (0.0,)} if self.strict_caltrack else {}
            model = fit_degree_day_model(daily_usage(base_rows), temps, min_days=self.min_days,
                                         **spreads)
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


    async def _compute_ratio(self, today: date) -> None:
        from gateway.analysis.ratio_baseline import ratio_baseline
        from gateway.analysis.readings import daily_temperature, daily_usage
        from gateway.analysis.savings import ratio_savings
        from gateway.analysis.seasons import season_sums

        who = {"device": self.device, "channel": self.channel}
        time = datetime.now(UTC)
        try:
            end = max(today, self.base_end)
            span = {"start": _local_midnight_utc(self.base_start),
                    "end": _local_midnight_utc(end)}
            temps = daily_temperature(await self.context.series(
                device=self.temperature["device"], channel=self.temperature["channel"], **span))
            usage = daily_usage(await self.context.series(**who, **span))
            base = season_sums(usage, temps, zone=str(self.zone), start=self.base_start,
                               end=self.base_end)
            fit = ratio_baseline(base.consumption, base.degree_days, float(self.gg_std),
                                 unit=usage.unit, labels=base.labels,
                                 min_periods=self.min_seasons)
            await self.context.publish(PluginResult(
                plugin=self.context.name, name="ratio_baseline", time=time,
                device=self.device, payload={**who, **fit.as_dict(), "zone": self.zone}))
            if self.rep_start is not None and self.rep_start < today:
                rep = season_sums(usage, temps, zone=str(self.zone), start=self.rep_start,
                                  end=today, min_coverage=None, input="reporting")
                seasons = [{"label": lab, "days": n} | ratio_savings(fit, c, g).as_dict()
                           for lab, c, g, n in zip(rep.labels, rep.consumption,
                                                   rep.degree_days, rep.days, strict=True)]
                await self.context.publish(PluginResult(
                    plugin=self.context.name, name="savings", time=time, device=self.device,
                    payload={**who, "method": "ratio_of_sums", "to": today.isoformat(),
                             "seasons": seasons}))
        except AnalysisError as exc:
            self.context.logger.warning("ratio baseline not computed: %s", exc)
            await self.context.publish(PluginResult(
                plugin=self.context.name, name="analysis_status", time=time,
                device=self.device, payload={**who, "ok": False, **exc.as_dict()}))
