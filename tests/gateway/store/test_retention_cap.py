"""Retention against the size cap: a full database is brought back under the cap by pruning what
is delivered, while every undelivered row and every reading normalisation skipped is kept.

The whole path is real: boards over TCP into the writer (with its size cap), the normaliser
writing series and outbox rows, the outbox marking rows delivered, retention, the health
snapshot. Expected counts are worked out by hand from the frames sent (see each test).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway import outbox
from gateway.config import load_config
from gateway.health import Health, used_bytes
from gateway.model import PluginResult
from gateway.normaliser import Normaliser
from gateway.plugins.results import store_result
from gateway.registry import add_device
from gateway.store.retention import Retention, RetentionPolicy
from tests.gateway.ingest.board import T0, Board, readings
from tests.gateway.ingest.conftest import Stack, start_stack
from tests.gateway.service.conftest import write_config

DAY = 86400
DID = 0x0000A1B2
DEV = f"{DID:08x}"
KEY = bytes(range(16))
CHANNELS = {0: {"name": "el1", "kind": "electric", "unit": "Wh"}}
MQTT = '[mqtt]\nhost = "127.0.0.1"\nport = 1\n'

N = 150         # frames of channel 0: 4 contiguous 15-min intervals each (T0 + c h)
P = 10          # the last P frames' messages are still pending upstream
UNKNOWN = 5     # frames of channel 3, which the registry does not know: skipped, kept
QUARANTINED_FRAME = 10   # one message of this frame was quarantined by the broker


async def _normalise(normaliser: Normaliser) -> None:
    while await normaliser.step():
        pass


async def _fill(tmp_path: Path) -> tuple[Stack, Normaliser]:
    config = load_config(write_config(tmp_path, extra=MQTT), plugins={})
    stack = await start_stack(tmp_path, {}, register=False)
    await stack.db.write(lambda c: add_device(c, stack.box, DID, KEY, site="lodi",
                                              channels=CHANNELS))
    await stack.keys.load()
    async with Board(DID, KEY, stack.port) as b:
        for c in range(1, N + 1):
            await b.send(readings(DID, c))
        for c in range(N + 1, N + UNKNOWN + 1):     # channel 3 in a slot of its own
            await b.send(readings(DID, c, channel=3, start=T0 + 10_000 * 3600 + c * 3600))
        await b.wait_acked(N + UNKNOWN)
    normaliser = Normaliser(stack.db, config, committed=asyncio.Event())
    await _normalise(normaliser)
    return stack, normaliser


def _deliver(conn: Any) -> None:
    """The broker acknowledged every message of frames 1..N-P except one of QUARANTINED_FRAME;
    two plugin results were published, only the first was acknowledged; an alert (its own
    msg_id, "alert:<id>:<state>") is still pending."""
    pending_from = T0 + (N - P + 1) * 3600       # first interval of frame N-P+1
    quarantined = f"{DEV}:el1:{T0 + QUARANTINED_FRAME * 3600 + 900}"
    rows = conn.execute("SELECT id, msg_id FROM outbox ORDER BY id").fetchall()
    done = [r[0] for r in rows if int(r[1].rsplit(":", 1)[1]) < pending_from
            and r[1] != quarantined]
    outbox.mark_delivered(conn, done)
    outbox.quarantine(conn, next(r[0] for r in rows if r[1] == quarantined), "too big")
    for n in (1, 2):
        rid = store_result(conn, PluginResult(plugin="demo", name="daily", payload={"n": n}),
                           prefix="meterkit/v1", default_site="lodi", now=T0)
        if n == 1:
            outbox.mark_delivered(conn, [conn.execute(
                "SELECT id FROM outbox WHERE msg_id = ?", (f"result:demo:{rid}",)).fetchone()[0]])
    store_result(conn, PluginResult(plugin="alerts", name="alert", site="lodi",
                                    time=datetime.fromtimestamp(T0, UTC),
                                    payload={"msg_id": "alert:7:raised", "kind": "no_data",
                                             "message": "silent", "severity": "warning"}),
                 prefix="meterkit/v1", default_site="lodi", now=T0)


async def _counts(stack: Stack) -> dict[str, int]:
    return {t: await stack.count(f"SELECT COUNT(*) FROM {t}")
            for t in ("readings", "series", "outbox", "plugin_results", "frames")}


async def test_retention_brings_a_full_database_under_the_cap_keeping_undelivered(
        tmp_path: Path) -> None:
    stack, _ = await _fill(tmp_path)
    try:
        await stack.db.write(_deliver)
        # readings: 4N + 4*UNKNOWN; series: the first sample of el1 has no baseline -> 4N - 1
        assert await _counts(stack) == {"readings": 4 * N + 4 * UNKNOWN, "series": 4 * N - 1,
                                        "outbox": 4 * N - 1 + 3, "plugin_results": 3,
                                        "frames": N + UNKNOWN}
        # the cap is reached: the next frame is refused, the board keeps it
        stack.writer.max_db_bytes = await stack.db.read(used_bytes)
        extra = readings(DID, N + UNKNOWN + 1, start=T0 + 20_000 * 3600)
        async with Board(DID, KEY, stack.port) as b:
            await b.send(extra)
            async with asyncio.timeout(10):
                while stack.writer.stats["size_cap_refusals"] == 0:
                    await asyncio.sleep(0.01)
        assert await stack.count("SELECT COUNT(*) FROM frames") == N + UNKNOWN

        # 40 days later (delivered_at is the real clock): keep 30 days, outbox 7 days
        later = max(time.time(), T0 + (N + UNKNOWN) * 3600) + 40 * DAY
        retention = Retention(stack.db, RetentionPolicy(keep_days=30, raw_days=7,
                                                        outbox_days=7, batch=97),
                              clock=lambda: later)
        pruned = await retention.prune_now()
        assert await stack.db.read(used_bytes) < stack.writer.max_db_bytes

        held = 1 + 4 * UNKNOWN          # el1's first sample + every unknown-channel reading
        kept_series = 4 * P + 1         # pending frames + the quarantined message
        assert await _counts(stack) == {
            "readings": held + kept_series, "series": kept_series,
            "outbox": kept_series + 2,  # + the pending plugin result and the pending alert
            "plugin_results": 2,
            # frame 1 (held first sample), the quarantined one, the pending ones, channel 3
            "frames": 1 + 1 + P + UNKNOWN}
        assert pruned["readings"] == 4 * N - 4 * P - 1 - 1
        assert pruned["series"] == 4 * N - 1 - kept_series
        assert retention.snapshot()["readings_held"] == held
        # the normaliser's own record of what it skipped and why (the first sample is no skip)
        assert retention.snapshot()["readings_skipped"] == {"unknown_channel": 4 * UNKNOWN}
        # every message not acknowledged upstream is still there, with its series row
        assert await stack.count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'") == 0
        assert await stack.count(
            "SELECT COUNT(*) FROM outbox o JOIN series s ON o.msg_id = s.device_id || ':' || "
            "s.channel || ':' || s.interval_start") == kept_series
        assert await stack.count("SELECT COUNT(*) FROM readings WHERE channel = '3'") == \
            4 * UNKNOWN

        # room again: the board's resend is stored and acknowledged
        async with Board(DID, KEY, stack.port) as b:
            await b.send(extra)
            await b.wait_acked(N + UNKNOWN + 1)
        assert await stack.count("SELECT COUNT(*) FROM frames") == 1 + 1 + P + UNKNOWN + 1
        # frames 2..N-P (but 10) were deleted: frame 5 sent again is a replay, not new data
        async with Board(DID, KEY, stack.port) as b:
            await b.send(readings(DID, 5))
            async with asyncio.timeout(10):
                while stack.writer.stats["frames_replay"] == 0:
                    await asyncio.sleep(0.01)
        assert await stack.count("SELECT COUNT(*) FROM frames") == 1 + 1 + P + UNKNOWN + 1
        assert await stack.count("SELECT COUNT(*) FROM readings") == held + kept_series + 4
    finally:
        await stack.stop()


async def test_health_warns_once_per_crossing_of_80_percent(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stack, _ = await _fill(tmp_path)
    try:
        await stack.db.write(_deliver)
        used = await stack.db.read(used_bytes)
        # used is 85 % of this cap (>= 80 %): warn
        health = Health(stack.db, tmp_path / "state", max_db_bytes=int(used / 0.85))
        with caplog.at_level(logging.INFO, logger="gateway.health"):
            first = (await health.snapshot())["db"]
            await health.snapshot()
            await health.snapshot()
        assert first["size_warning"] is True and first["used_bytes"] == used
        warnings = [r for r in caplog.records if r.name == "gateway.health"]
        assert len(warnings) == 1 and "80%" in warnings[0].getMessage()

        later = max(time.time(), T0 + (N + UNKNOWN) * 3600) + 40 * DAY
        await Retention(stack.db, RetentionPolicy(keep_days=30, raw_days=7, outbox_days=7),
                        clock=lambda: later).prune_now()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="gateway.health"):
            after = (await health.snapshot())["db"]
            await health.snapshot()
        assert after["size_warning"] is False
        assert [r.getMessage() for r in caplog.records if r.name == "gateway.health"] == [
            "database back below 80% of its size cap"]
    finally:
        await stack.stop()


async def test_a_channels_first_sample_is_held_without_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The first reading of a channel is its baseline: no series row, nothing to fix. Only
    # readings normalisation recorded as skipped are worth an operator's warning.
    config = load_config(write_config(tmp_path, extra=MQTT), plugins={})
    stack = await start_stack(tmp_path, {}, register=False)
    try:
        await stack.db.write(lambda c: add_device(c, stack.box, DID, KEY, site="lodi",
                                                  channels=CHANNELS))
        await stack.keys.load()
        async with Board(DID, KEY, stack.port) as b:
            for c in (1, 2):
                await b.send(readings(DID, c))
            await b.wait_acked(2)
        await _normalise(Normaliser(stack.db, config, committed=asyncio.Event()))
        retention = Retention(stack.db, RetentionPolicy(keep_days=30, raw_days=7,
                                                        outbox_days=7, batch=97))
        with caplog.at_level(logging.WARNING, logger="gateway"):
            assert await retention.count_held() == 1
        assert "normalisation skipped them" not in caplog.text
        assert retention.snapshot()["readings_skipped"] == {}
    finally:
        await stack.stop()
