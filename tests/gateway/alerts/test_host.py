"""Through the real plugin host and gateway database: alerts reach plugin_results and the
outbox; with a context that offers write/read, the state lives in the gateway database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from gateway.alerts import store
from gateway.alerts.plugin import AlertsPlugin
from gateway.config.model import (
    Config,
    GatewaySettings,
    IngestSettings,
    PluginSettings,
    SiteSettings,
    StorageSettings,
)
from gateway.model import ReadingBatch
from gateway.plugins.host import PluginHost
from gateway.store.db import Database
from tests.gateway.alerts.helpers import Clock, FakeContext, config, feed, series, started, utc

RULE = {"kind": "threshold", "device": "dev1", "channel": "el1", "above": 3.0,
        "for_intervals": 2}


def gateway_config(tmp_path: Path) -> Config:
    site = SiteSettings("scuola", "GENOVA", "GE", "D", 1435, 19, 9.4227, holidays=("06-24",))
    options = {"state_db": str(tmp_path / "alerts.db"), "rules": {"power": RULE}}
    return Config(tmp_path / "gateway.toml",
                  GatewaySettings("scuola", tmp_path, tmp_path / "gw.db", tmp_path / "secret"),
                  IngestSettings(), StorageSettings(), {"scuola": site},
                  SimpleNamespace(prefix="meterkit"),     # stands for the uplink's settings
                  {"alerts": PluginSettings("alerts", True, options)})


async def test_alert_goes_through_the_host_to_the_outbox(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "gw.db")
    host = PluginHost(gateway_config(tmp_path), db, plugins={"alerts": AlertsPlugin})
    task = asyncio.create_task(host.run())
    try:
        async with asyncio.timeout(10):
            while "alerts" not in host.runners or host.runners["alerts"].state != "running":
                await asyncio.sleep(0.01)
            host.deliver_readings(ReadingBatch(tuple(series(utc(2026, 11, 24, 0),
                                                            [4.0, 4.0]))))
            while host.published < 1:
                await asyncio.sleep(0.01)
            # the plugin's own snapshot() reaches the host's health report
            own = host.runners["alerts"].snapshot()["plugin"]
            assert (own["raised"], own["published"], own["active"]) == (1, 1, 1)
            assert own["mail"] is None            # no [smtp]: nothing to send
    finally:
        await host.stop()
        await task

    def rows(conn: Any) -> tuple[list[Any], list[Any]]:
        results = conn.execute("SELECT plugin, name, device, payload FROM plugin_results")
        outbox = conn.execute("SELECT topic, payload, msg_id FROM outbox")
        return [tuple(r) for r in results], [tuple(r) for r in outbox]
    results, messages = await db.read(rows)
    topics = [t for t, _, _ in messages]
    await db.close()
    assert [(p, n, d) for p, n, d, _ in results] == [("alerts", "alert", "dev1")]
    payload = json.loads(results[0][3])
    assert (payload["state"], payload["since"], payload["time"]) == (
        "raised", "2026-11-24T01:00:00+01:00", "2026-11-24T01:30:00+01:00")
    # the uplink's documented alert topic and schema (docs/schemas/alert.v1.json)
    assert topics == ["meterkit/scuola/dev1/alert"]
    upstream = json.loads(messages[0][1])
    assert (upstream["schema"], upstream["device"], upstream["severity"]) == (
        "meterkit/alert/1", "dev1", payload["severity"])
    assert upstream["time"] == "2026-11-24T01:30:00+01:00"
    assert upstream["details"]["state"] == "raised"
    # the stable de-duplication id survives into the upstream message
    assert upstream["details"]["msg_id"] == f"alert:{payload['alert_id']}:raised"
    assert upstream["msg_id"] == messages[0][2] == f"alert:{payload['alert_id']}:raised"
    assert payload["unit"] == "kW" and upstream["details"]["unit"] == "kW"


class DbContext(FakeContext):
    """A context with the proposed write/read hook onto the gateway database."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    async def write(self, fn: Any, *args: Any) -> Any:
        return await self.db.write(fn, *args)

    async def read(self, fn: Any, *args: Any) -> Any:
        return await self.db.read(fn, *args)


async def test_state_in_the_gateway_database_when_the_host_offers_it(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "gw.db")   # applies the registered "alerts" schema
    cfg = config(tmp_path, {"power": RULE})
    clock = Clock(utc(2026, 11, 24, 12))
    ctx = DbContext(db)
    plugin = await started(cfg, ctx, clock)
    await feed(plugin, ctx, series(utc(2026, 11, 24, 0), [4.0, 4.0]))
    await plugin.stop()
    ctx2 = DbContext(db)
    plugin = await started(cfg, ctx2, clock)
    await feed(plugin, ctx2, series(utc(2026, 11, 24, 0, 30), [4.0, 1.0, 1.0]))
    await plugin.stop()
    states = await db.read(store.load_states)
    await db.close()
    alerts = ctx.alerts() + ctx2.alerts()
    assert [a["state"] for a in alerts] == ["raised", "cleared"]
    # a subscriber showing only the message line can tell the two apart
    assert not alerts[0]["message"].startswith("Back to normal")
    assert alerts[1]["message"] == "Back to normal. While active: " + alerts[0]["message"]
    assert [(s.key, s.active) for s in states] == [("power|dev1|el1", False)]
    assert not (tmp_path / "alerts.db").exists()
