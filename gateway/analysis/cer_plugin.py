"""Gateway plugin: each completed month (and year), a CER's shared energy and incentive upstream.

Config (`[plugins.cer]`, example in gateway/analysis/examples/plugin_cer.toml): `community`,
`zonal_price_eur_mwh`, `arera_refund_eur_mwh`, optional `late_data_days` (default 10) and
`[plugins.cer.tariff]` overrides of the DM 414/2023 parameters; `[[plugins.cer.plants]]` id,
device, channel, kw, commissioned (TOML date), region, pv, capital_grant; `[[plugins.cer.members]]`
id, device, channel. Plants' channels are the energy fed in (quarter hours), members' the energy
withdrawn.

Results: `cer_monthly` (same fields as `meterkit analyze cer --json`) once every plant and
member has the four quarter hours of every hour of the local month; otherwise `analysis_status`
naming the series and hour — never a number computed on incomplete data. An incomplete month is
retried every hour until `late_data_days` after its end (late frames from a board's flash queue
still arrive), then reported as final. The last finalised month is kept in
`<state_dir>/cer_state.json`, so months missed while the gateway was down are caught up (at most
`MAX_MONTHS_PER_RUN` per hourly run). After December, `cer_annual` covers the whole year.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from gateway.analysis.cer import CerError, TariffRules, evaluate, hour_grid
from gateway.analysis.cer_config import parse_members, parse_plants, parse_price, parse_tariff
from gateway.model import PluginResult

__all__ = ["CerPlugin"]

ROME = ZoneInfo("Europe/Rome")
MAX_MONTHS_PER_RUN = 3   # a catch-up must stay well inside the host's hook timeout
KEYS = {"community", "zonal_price_eur_mwh", "arera_refund_eur_mwh", "late_data_days", "plants",
        "members", "tariff"}
Month = tuple[int, int]


def _bounds_utc(year: int, month: int, months: int = 1) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=ROME)
    m = month - 1 + months
    end = datetime(year + m // 12, m % 12 + 1, 1, tzinfo=ROME)
    return start.astimezone(UTC), end.astimezone(UTC)


def _next(month: Month) -> Month:
    return (month[0] + month[1] // 12, month[1] % 12 + 1)


def _label(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


def _parse_label(text: str) -> Month:
    year, month = text.split("-")
    return int(year), int(month)


def _check(config: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    for key in sorted(set(config) - KEYS):
        problems.append(f"{key}: unknown key (known: {', '.join(sorted(KEYS))})")
    parsed = {
        "zonal": parse_price(config, "zonal_price_eur_mwh", "", problems),
        "refund": parse_price(config, "arera_refund_eur_mwh", "", problems),
        "plants": parse_plants(config.get("plants"), "plants", problems,
                               extra=("device", "channel")),
        "members": parse_members(config.get("members"), "members", problems, tables=True),
        "rules": parse_tariff(config.get("tariff"), "tariff", problems),
    }
    late = config.get("late_data_days", 10)
    if not isinstance(late, int) or isinstance(late, bool) or not 0 <= late <= 60:
        problems.append(f"late_data_days: {late!r} (expected whole days 0-60 to wait for late "
                        "data before a month's incomplete status is final)")
    community = config.get("community", "cer")
    if not isinstance(community, str):
        problems.append(f"community: {community!r} (expected the community's name)")
    return problems, parsed


class CerPlugin:
    """Monthly and annual CER results from the stored quarter-hour series of plants and members."""

    schedule_s: ClassVar[int | None] = 3600

    def __init__(self, config: dict[str, Any], context: Any) -> None:
        problems, parsed = _check(config)
        if problems:  # the host validates first; this guards direct construction
            raise ValueError("; ".join(problems))
        self.config = config
        self.context = context
        self.plants = parsed["plants"]
        self.member_ids: list[str] = parsed["members"]
        self.rules: TariffRules = parsed["rules"]
        self.zonal: float = parsed["zonal"]
        self.refund: float = parsed["refund"]
        self.late = timedelta(days=int(config.get("late_data_days", 10)))
        self.community = str(config.get("community", "cer"))
        self.state_path = Path(context.state_dir) / "cer_state.json"

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> list[str]:
        """Problems in `[plugins.cer]`, each starting with its key path."""
        return _check(config)[0]

    async def on_schedule(self, now: datetime) -> None:
        """Finalise every ended month not yet finalised, oldest first (bounded per run)."""
        local = now.astimezone(ROME)
        last: Month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        state = await asyncio.to_thread(self._load)
        month = _parse_label(state["next"]) if state.get("next") else last
        finalised = set(state.get("finalised", []))
        reported: dict[str, str] = dict(state.get("reported", {}))
        runs = 0
        while month <= last and runs < MAX_MONTHS_PER_RUN:
            label = _label(month)
            if label not in finalised:
                runs += 1
                if await self._run_month(month, now, reported):
                    finalised.add(label)
                    if month[1] == 12:
                        await self.compute_year(month[0])
            month = _next(month)
        start = _parse_label(state["next"]) if state.get("next") else last
        while _label(start) in finalised:   # the state only needs what is still open
            finalised.discard(_label(start))
            reported.pop(_label(start), None)
            start = _next(start)
        new_state = {"next": _label(start), "finalised": sorted(finalised),
                     "reported": reported}
        if new_state != state:   # most hourly runs change nothing: no write
            await asyncio.to_thread(self._save, new_state)

    async def _run_month(self, month: Month, now: datetime, reported: dict[str, str]) -> bool:
        """Publish the month's result; True when it is final (complete, or waited long enough)."""
        name, payload = await self._evaluate(*_bounds_utc(*month), _label(month))
        if name == "cer_monthly":
            await self._publish(name, payload, _bounds_utc(*month)[1])
            return True
        deadline = _bounds_utc(*month)[1] + self.late
        final = now >= deadline
        payload |= {"final": final, "retry_until": deadline.isoformat()}
        if final or reported.get(_label(month)) != payload["message"]:
            await self._publish(name, payload, _bounds_utc(*month)[1])
            reported[_label(month)] = payload["message"]
        return final

    async def _series(self, rows: list[dict[str, Any]], start: datetime,
                      end: datetime) -> dict[str, list[tuple[datetime, float]]]:
        out = {}
        for row in rows:
            readings = await self.context.series(device=str(row["device"]),
                                                 channel=str(row["channel"]), start=start, end=end)
            out[str(row["id"])] = [(r.start, r.value) for r in readings]
        return out

    async def _evaluate(self, start: datetime, end: datetime,
                        period: str) -> tuple[str, dict[str, Any]]:
        # a plant or member without readings gets an empty series: evaluate() then names its
        # first hour as missing instead of counting it as 0 kWh
        fed = await self._series(self.config["plants"], start, end)
        withdrawn = await self._series(self.config["members"], start, end)
        head = {"community": self.community, "period": period}
        try:
            result = await asyncio.to_thread(
                evaluate, fed, withdrawn, self.plants, zonal_price=self.zonal,
                arera_refund_eur_mwh=self.refund, rules=self.rules, members=self.member_ids,
                hours=hour_grid(start, end))
        except CerError as exc:
            return "analysis_status", {**head, "ok": False, "status": "incomplete",
                                       **exc.as_dict(), "detail": str(exc)}
        return "cer_monthly", {**head, "ok": True, **result}

    async def _publish(self, name: str, payload: dict[str, Any], time: datetime) -> None:
        await self.context.publish(PluginResult(plugin="cer", name=name, payload=payload,
                                                time=time))

    async def compute(self, year: int, month: int) -> dict[str, Any]:
        """Evaluate one local calendar month and publish the result (or the reason why not)."""
        start, end = _bounds_utc(year, month)
        name, payload = await self._evaluate(start, end, _label((year, month)))
        await self._publish(name, payload, end)
        return payload

    async def compute_year(self, year: int) -> dict[str, Any]:
        """The whole local year as `cer_annual` (or `analysis_status` when incomplete)."""
        start, end = _bounds_utc(year, 1, 12)
        name, payload = await self._evaluate(start, end, f"{year:04d}")
        await self._publish("cer_annual" if name == "cer_monthly" else name, payload, end)
        return payload

    def _load(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            # a damaged state file must not stop the results: start again from last month
            self.context.logger.warning("cer state unreadable, starting afresh",
                                        extra={"path": str(self.state_path), "error": repr(exc)})
            return {}
        return state if isinstance(state, dict) else {}

    def _save(self, state: dict[str, Any]) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        os.replace(tmp, self.state_path)
