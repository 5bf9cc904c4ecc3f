"""Skipped readings are recorded with their reason and normalised again once the registry is
fixed: nothing the board sent is lost to a registry mistake.

Frames go over real TCP through the writer into SQLite. Hand calculation for gas at LODI
(tests/gateway/service/test_normaliser.py): C = 1.035204, so 1500 L = 1.5 m³ = 1.552806 Smc;
electricity: 100 Wh = 0.1 kWh.
"""

from __future__ import annotations

from pathlib import Path

from gateway.normaliser import renormalise_device
from gateway.registry import update_device
from tests.gateway.ingest.board import T0
from tests.gateway.normaliser.helpers import block, frame, running

EL = {"name": "el1", "kind": "electric", "unit": "Wh"}
GAS = {"name": "gas", "kind": "gas", "unit": "L"}
H, Q = 3600, 900


async def skips(env: object) -> list[tuple[str, int, str]]:
    return await env.stack.rows(  # type: ignore[attr-defined]
        "SELECT channel, interval_start, reason FROM normalise_skips ORDER BY interval_start")


async def test_unknown_channel_is_recorded_then_renormalised(tmp_path: Path) -> None:
    async with running(tmp_path, {0: EL}) as env:
        # channel 1 (gas) is not registered yet; channel 0 normalises as usual
        await env.send(frame(env.did, 1, block(0, "Wh", Q, T0, [1000, 1100]),
                             block(1, "L", H, T0, [100_000, 101_500, 103_000])))
        await env.drain()
        assert await env.series("gas") == []
        assert await skips(env) == [("1", T0, "unknown_channel"),
                                    ("1", T0 + H, "unknown_channel"),
                                    ("1", T0 + 2 * H, "unknown_channel")]
        assert env.normaliser.counters["skipped_unknown_channel"] == 3
        before = await env.outbox_ids()

        await env.stack.db.write(update_device, env.dev, channels={0: EL, 1: GAS})
        report = await renormalise_device(env.stack.db, env.config, env.dev)
        assert (report.channels, report.readings, report.changed, report.recovered,
                report.still_skipped) == (["1"], 3, 2, 3, {})
        gas = await env.series("gas")
        assert [(s, n, v) for s, n, v, _f in gas] == [(T0 + H, H, 1.552806),
                                                      (T0 + 2 * H, H, 1.552806)]
        assert await skips(env) == []
        assert await env.outbox_ids() == [*before, f"{env.dev}:gas:{T0 + H}",
                                          f"{env.dev}:gas:{T0 + 2 * H}"]
        # later gas readings continue from the recovered baseline
        await env.send(frame(env.did, 2, block(1, "L", H, T0 + 3 * H, [104_500])))
        await env.drain()
        assert (await env.series("gas"))[-1][:3] == (T0 + 3 * H, H, 1.552806)
        # running it again changes and publishes nothing
        again = await renormalise_device(env.stack.db, env.config, env.dev)
        assert (again.changed, again.recovered) == (0, 0)
        assert len(await env.outbox_ids()) == len(before) + 3


async def test_bad_calibration_and_unit_mismatch_recorded_then_fixed(tmp_path: Path) -> None:
    async with running(tmp_path, {0: EL, 1: GAS}) as env:
        # a registry row from before validation: gas pulse channel without a factor, and an
        # electric channel declared gas
        await env.set_channels_raw({"0": {"name": "el1", "kind": "gas"},
                                    "1": {"name": "gas", "kind": "gas", "unit": "pulse"}})
        await env.send(frame(env.did, 1, block(0, "Wh", Q, T0, [1000, 1100, 1250]),
                             block(1, "pulse", H, T0, [10, 160])))
        await env.drain()
        assert await env.series("el1") == [] and await env.series("gas") == []
        reasons = {(c, r) for c, _s, r in await skips(env)}
        assert reasons == {("0", "unit_mismatch"), ("1", "bad_calibration")}

        await env.stack.db.write(update_device, env.dev, channels={
            0: EL, 1: {"name": "gas", "kind": "gas", "unit": "pulse", "factor": 10}})
        report = await renormalise_device(env.stack.db, env.config, env.dev)
        assert report.still_skipped == {} and report.changed == 3
        assert [(s, v) for s, _n, v, _f in await env.series("el1")] == [
            (T0 + Q, 0.1), (T0 + 2 * Q, 0.15)]
        # 150 pulses x 10 L = 1500 L
        assert [(s, v) for s, _n, v, _f in await env.series("gas")] == [(T0 + H, 1.552806)]


async def test_renormalise_from_a_date_recomputes_and_only_publishes_changes(
        tmp_path: Path) -> None:
    from datetime import UTC, datetime
    async with running(tmp_path, {0: EL}) as env:
        await env.send(frame(env.did, 1, block(0, "Wh", Q, T0, [1000, 1100, 1200, 1300])))
        await env.drain()
        n = len(await env.outbox_ids())
        report = await renormalise_device(env.stack.db, env.config, env.dev,
                                          since=datetime.fromtimestamp(T0 + Q, UTC))
        # T0 (before `since`) is the baseline; the three amounts are identical: none changed
        assert (report.readings, report.changed) == (3, 0)
        assert len(await env.outbox_ids()) == n


async def test_a_reading_arriving_after_its_interval_was_estimated_is_kept_and_usable(
        tmp_path: Path) -> None:
    # 1000 Wh at T0 and 1300 at T0+3Q: the three quarters in between are estimated, 100 Wh
    # each. The real T0+Q register (1250) arrives later (a resend after a refused commit):
    # it reached no series row, so it is recorded (retention keeps it), and renormalising
    # uses it: 250 Wh, then 50 Wh spread over the two quarters still missing.
    async with running(tmp_path, {0: EL}) as env:
        await env.send(frame(env.did, 1, block(0, "Wh", Q, T0, [1000])),
                       frame(env.did, 2, block(0, "Wh", Q, T0 + 3 * Q, [1300])))
        await env.drain()
        assert [(s, v) for s, _n, v, _f in await env.series("el1")] == [
            (T0 + Q, 0.1), (T0 + 2 * Q, 0.1), (T0 + 3 * Q, 0.1)]
        await env.send(frame(env.did, 3, block(0, "Wh", Q, T0 + Q, [1250])))
        await env.drain()
        assert await skips(env) == [("0", T0 + Q, "stale")]
        report = await renormalise_device(env.stack.db, env.config, env.dev)
        assert report.recovered == 1
        assert [(s, round(v, 6)) for s, _n, v, _f in await env.series("el1")] == [
            (T0 + Q, 0.25), (T0 + 2 * Q, 0.025), (T0 + 3 * Q, 0.025)]
        assert await skips(env) == []
