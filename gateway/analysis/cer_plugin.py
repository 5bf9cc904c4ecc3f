"""Gateway plugin: each completed month, a CER's shared energy and incentive estimate upstream.

Config (`[plugins.cer]`): `community` (name), `zonal_price_eur_mwh`, `arera_refund_eur_mwh`,
`[[plugins.cer.plants]]` id, device, channel, kw, commissioned (TOML date), region, pv,
capital_grant; `[[plugins.cer.members]]` id, device, channel. Plants' channels are the energy
fed in (quarter hours), members' the energy withdrawn. Results: `cer_monthly` with the same
fields as `meterkit analyze cer --json`, or `analysis_status` naming the problem (for example an
hour with a missing quarter hour) — never a number computed on incomplete data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from gateway.analysis.cer import CerError, Plant, evaluate
from gateway.model import PluginResult

__all__ = ["CerPlugin"]

ROME = ZoneInfo("Europe/Rome")


def _month_bounds_utc(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=ROME)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=ROME)
    return start.astimezone(UTC), end.astimezone(UTC)


class CerPlugin:
    """Monthly CER results from the stored quarter-hour series of its plants and members."""

    schedule_s: ClassVar[int | None] = 3600

    def __init__(self, config: dict[str, Any], context: Any) -> None:
        self.config = config
        self.context = context
        self.last_month: tuple[int, int] | None = None

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> list[str]:
        problems = []
        for key in ("zonal_price_eur_mwh", "arera_refund_eur_mwh"):
            value = config.get(key)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                problems.append(f"{key}: {value!r} (expected a price >= 0 in €/MWh)")
        for group, fields in (("plants", ("id", "device", "channel", "kw", "commissioned")),
                              ("members", ("id", "device", "channel"))):
            rows = config.get(group)
            if not isinstance(rows, list) or not rows:
                problems.append(f"{group}: missing (expected at least one [[{group}]] table)")
                continue
            for i, row in enumerate(rows):
                for f in fields:
                    if f not in row:
                        problems.append(f"{group}[{i}].{f}: missing")
                if group == "plants" and "commissioned" in row and not isinstance(
                        row["commissioned"], date):
                    problems.append(f"plants[{i}].commissioned: {row['commissioned']!r} "
                                    "(expected a TOML date, e.g. 2025-03-01)")
        return problems

    async def on_schedule(self, now: datetime) -> None:
        local = now.astimezone(ROME)
        previous = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        if previous != self.last_month:
            await self.compute(*previous)
            self.last_month = previous

    async def _series(self, rows: list[dict[str, Any]], start: datetime,
                      end: datetime) -> dict[str, list[tuple[datetime, float]]]:
        out = {}
        for row in rows:
            readings = await self.context.series(device=str(row["device"]),
                                                 channel=str(row["channel"]), start=start, end=end)
            out[str(row["id"])] = [(r.start, r.value) for r in readings]
        return out

    async def compute(self, year: int, month: int) -> dict[str, Any]:
        """Evaluate one local calendar month and publish the result (or the reason why not)."""
        start, end = _month_bounds_utc(year, month)
        plants = [Plant(str(p["id"]), float(p["kw"]), p["commissioned"], str(p.get("region", "")),
                        bool(p.get("pv", True)), float(p.get("capital_grant", 0.0)))
                  for p in self.config["plants"]]
        fed = await self._series(self.config["plants"], start, end)
        withdrawn = await self._series(self.config["members"], start, end)
        period = f"{year:04d}-{month:02d}"
        try:
            payload: dict[str, Any] = evaluate(
                fed, withdrawn, plants, zonal_price=float(self.config["zonal_price_eur_mwh"]),
                arera_refund_eur_mwh=float(self.config["arera_refund_eur_mwh"]),
                members_count=len(self.config["members"]))
            name = "cer_monthly"
        except CerError as exc:
            payload, name = {"error": str(exc), "where": exc.where, "hint": exc.hint}, \
                "analysis_status"
        payload = {"community": self.config.get("community", "cer"), "period": period,
                   **payload}
        await self.context.publish(PluginResult(plugin="cer", name=name, payload=payload,
                                                time=end))
        return payload
