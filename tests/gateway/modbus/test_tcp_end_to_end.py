"""Modbus TCP meters → readings → normalised series → outbox, through the real gateway.

Expected energies are worked out by hand from the float32 kWh values the simulated meters
serve (multiples of 1/8 kWh, exact in float32): e.g. 1234.5 → 1236.0 kWh is 1500 Wh = 1.5 kWh.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.model import Reading
from gateway.store.series import query_series
from gateway.uplink.messages import reading_message
from tests.gateway.modbus.conftest import QUARTER, ManualClock, Running, quarter_start
from tests.gateway.modbus.sim import Meter, TcpMeters
from tests.support.ports import free_port

PLUGIN = """
[plugins.modbus]
power_period_s = {power}

[plugins.modbus.backoff]
initial_s = 60
maximum_s = 600
jitter = 0.5

[[plugins.modbus.buses]]
name = "quadro"
type = "tcp"
host = "127.0.0.1"
port = {port}
timeout_s = 0.3
retries = 0

[[plugins.modbus.buses.devices]]
name = "sdm630-main"
unit = 1
map = "sdm630"
channels = {{ import_energy = "grid_in", export_energy = "grid_out"{power_channel} }}

[[plugins.modbus.buses.devices]]
name = "sdm120-pv"
unit = 2
map = "sdm120"
channels = {{ import_energy = "pv" }}
"""

MAIN, PV = "modbus:sdm630-main", "modbus:sdm120-pv"


def plugin_toml(port: int, *, power: int = 0) -> str:
    return PLUGIN.format(port=port, power=power,
                         power_channel=', power = "p_main"' if power else "")


async def series(run: Running, device: str, channel: str) -> list[Reading]:
    return await run.db.read(query_series, device, channel, datetime(2000, 1, 1, tzinfo=UTC),
                             datetime(2100, 1, 1, tzinfo=UTC))


def summary(rows: list[Reading]) -> list[tuple[int, float, int, set[str]]]:
    return [(int(r.start.timestamp()), r.value, r.register, set(r.flags)) for r in rows]


async def test_energies_stored_and_normalised_exactly(modbus_gateway: Any) -> None:
    t0 = quarter_start()
    b1, b2, b3 = t0 + QUARTER, t0 + 2 * QUARTER, t0 + 3 * QUARTER
    main, pv = Meter(1, "sdm630"), Meter(2, "sdm120")
    server = TcpMeters(free_port(), main, pv)
    await server.start()
    clock = ManualClock(t0 + 7)
    try:
        async with modbus_gateway(plugin_toml(server.port), clock, sleepers=1) as run:
            for when, (imp, exp, pv_kwh) in zip(
                    (b1, b2, b3), [(1234.5, 10.25, 50.75), (1236.0, 10.5, 51.0),
                                   (1236.75, 10.5, 52.125)], strict=True):
                main.set(import_energy=imp, export_energy=exp)
                pv.set(import_energy=pv_kwh)
                await clock.advance_to(when, sleepers=1)

            rows = await run.wait_for(
                "SELECT device_id, channel, unit, interval_start, interval_s, register, flags, "
                "frame_counter FROM readings ORDER BY interval_start, device_id, channel", rows=9)
            assert rows == [
                (PV, "pv", "Wh", t0, 900, 50750, 0, None),
                (MAIN, "grid_in", "Wh", t0, 900, 1234500, 0, None),
                (MAIN, "grid_out", "Wh_export", t0, 900, 10250, 0, None),
                (PV, "pv", "Wh", b1, 900, 51000, 0, None),
                (MAIN, "grid_in", "Wh", b1, 900, 1236000, 0, None),
                (MAIN, "grid_out", "Wh_export", b1, 900, 10500, 0, None),
                (PV, "pv", "Wh", b2, 900, 52125, 0, None),
                (MAIN, "grid_in", "Wh", b2, 900, 1236750, 0, None),
                (MAIN, "grid_out", "Wh_export", b2, 900, 10500, 0, None),
            ]
            # The first reading of a channel is its baseline: amounts start one interval later.
            await run.wait_for("SELECT 1 FROM series", rows=6)
            grid_in = await series(run, MAIN, "grid_in")
            assert summary(grid_in) == [(b1, 1.5, 1236000, set()), (b2, 0.75, 1236750, set())]
            assert {r.quantity for r in grid_in} == {"energy_import"}
            grid_out = await series(run, MAIN, "grid_out")
            assert summary(grid_out) == [(b1, 0.25, 10500, set()), (b2, 0.0, 10500, set())]
            assert {r.quantity for r in grid_out} == {"energy_export"}
            assert summary(await series(run, PV, "pv")) == [(b1, 0.25, 51000, set()),
                                                           (b2, 1.125, 52125, set())]
            # Same upstream path as a board: one outbox message per interval, same topic rules.
            outbox = dict(await run.query("SELECT msg_id, topic FROM outbox"))
            for r in grid_in + grid_out:
                assert outbox[r.message_id] == reading_message(r, prefix="meterkit",
                                                               backfill=False)[0]
            assert run.plugin.snapshot()["devices"][MAIN]["ok"] == 3
    finally:
        await server.stop()


async def test_power_is_polled_faster_and_published(modbus_gateway: Any) -> None:
    t0 = quarter_start()
    main, pv = Meter(1, "sdm630"), Meter(2, "sdm120")
    main.set(import_energy=10.0, power=-1500.5)
    server = TcpMeters(free_port(), main, pv)
    await server.start()
    clock = ManualClock(t0 + 1)
    try:
        async with modbus_gateway(plugin_toml(server.port, power=60), clock,
                                  sleepers=2) as run:
            await clock.advance_to(t0 + 60, sleepers=2)
            main.set(power=2300.25)
            await clock.advance_to(t0 + 120, sleepers=2)
            got = await run.wait_for(
                "SELECT device, time, json_extract(payload, '$.w.p_main') FROM plugin_results "
                "WHERE plugin = 'modbus' AND name = 'power' ORDER BY time", rows=2)
            assert got == [(MAIN, t0 + 60, -1500.5), (MAIN, t0 + 120, 2300.25)]
            # Power polls never write energy readings: those come at the quarter hour only.
            assert await run.query("SELECT count(*) FROM readings") == [(0,)]
            # Power and energy polls meet at the quarter hour and share the bus lock.
            main.set(import_energy=10.5, power=100.0)
            for when in range(t0 + 180, t0 + QUARTER + 1, 60):
                await clock.advance_to(when, sleepers=2)
            await run.wait_for("SELECT 1 FROM readings", rows=3)
            got = await run.wait_for(
                "SELECT time, json_extract(payload, '$.w.p_main') FROM plugin_results "
                "WHERE name = 'power' ORDER BY time", rows=15)
            assert got[-1] == (t0 + QUARTER, 100.0)
            # A power poll that wakes too late is skipped, not published with a stale time.
            await clock.advance_to(t0 + QUARTER + 300, sleepers=2)
            await clock.advance_to(t0 + QUARTER + 360, sleepers=2)
            got = await run.wait_for("SELECT time FROM plugin_results WHERE name = 'power' "
                                     "ORDER BY time", rows=16)
            assert [t for (t,) in got[-2:]] == [t0 + QUARTER, t0 + QUARTER + 360]
            assert run.plugin.snapshot()["devices"][MAIN]["late"] == 1
            assert await run.query("SELECT register FROM readings WHERE channel = 'grid_in'") \
                == [(10500,)]
    finally:
        await server.stop()


async def test_replaced_meters_are_flagged_end_to_end(modbus_gateway: Any) -> None:
    t0 = quarter_start()
    b = [t0 + k * QUARTER for k in range(1, 5)]
    main, pv = Meter(1, "sdm630"), Meter(2, "sdm120")
    server = TcpMeters(free_port(), main, pv)
    await server.start()
    clock = ManualClock(t0 + 3)
    try:
        async with modbus_gateway(plugin_toml(server.port), clock, sleepers=1) as run:
            # PV: a new meter; at B3 it is still booting and answers 0.0 (ignored, not a
            # reset); at B4 it counts from 0.5 kWh. MAIN: swapped at B3 for a used meter
            # showing 800 kWh, which is not this quarter's energy (decision 004: unknown).
            for when, pv_kwh, main_kwh in zip(b, (52.125, 52.5, 0.0, 0.5),
                                              (900.0, 900.5, 800.0, 800.25), strict=True):
                pv.set(import_energy=pv_kwh)
                main.set(import_energy=main_kwh)
                await clock.advance_to(when, sleepers=1)
            rows = await run.wait_for(
                "SELECT device_id, interval_start, register, flags FROM readings "
                "WHERE channel IN ('pv', 'grid_in') ORDER BY device_id, interval_start", rows=7)
            q = QUARTER
            assert rows == [(PV, b[0] - q, 52125, 0), (PV, b[1] - q, 52500, 0),
                            (PV, b[3] - q, 500, 0x20),        # 0x20 = register_reset
                            (MAIN, b[0] - q, 900000, 0), (MAIN, b[1] - q, 900500, 0),
                            (MAIN, b[2] - q, 800000, 0), (MAIN, b[3] - q, 800250, 0)]
            await run.wait_for("SELECT 1 FROM series WHERE channel IN ('pv', 'grid_in')",
                               rows=4)
            assert summary(await series(run, PV, "pv")) == [
                (b[1] - q, 0.375, 52500, set()),
                (b[3] - q, 0.5, 500, {"register_reset", "gap"}),
            ]
            # The used meter's quarter has no value (unknown, not 800 kWh, not a rollover).
            assert summary(await series(run, MAIN, "grid_in")) == [
                (b[1] - q, 0.5, 900500, set()), (b[3] - q, 0.25, 800250, set())]
            # Both swaps go upstream as results, whether or not the energy could be counted.
            swaps = await run.wait_for(
                "SELECT device, time, json_extract(payload, '$.before_wh'), "
                "json_extract(payload, '$.now_wh'), "
                "json_extract(payload, '$.counted_from_zero') FROM plugin_results "
                "WHERE name = 'meter_replaced' ORDER BY time", rows=2)
            assert swaps == [(MAIN, b[2], 900500, 800000, 0), (PV, b[3], 52500, 500, 1)]
            assert await run.query("SELECT count(*) FROM outbox WHERE msg_id LIKE "
                                   "'result:modbus:%'") == [(2,)]
            counters = run.plugin.snapshot()["devices"]
            assert (counters[PV]["resets"], counters[PV]["zero_ignored"]) == (1, 1)
            assert counters[MAIN]["resets"] == 1
    finally:
        await server.stop()


async def test_missed_poll_is_a_gap_filled_by_the_next_reading(modbus_gateway: Any) -> None:
    t0 = quarter_start()
    b1, b2, b3 = t0 + QUARTER, t0 + 2 * QUARTER, t0 + 3 * QUARTER
    main, pv = Meter(1, "sdm630"), Meter(2, "sdm120")
    server = TcpMeters(free_port(), main, pv)
    await server.start()
    clock = ManualClock(t0 + 1)
    try:
        async with modbus_gateway(plugin_toml(server.port), clock, sleepers=1) as run:
            main.set(import_energy=1000.0)
            await clock.advance_to(b1, sleepers=1)
            main.set(import_energy=1000.5)
            main.silent = True                     # the B2 poll gets no answer
            await clock.advance_to(b2, sleepers=1)
            main.silent = False
            main.set(import_energy=1001.125)       # 1125 Wh over the two intervals
            await clock.advance_to(b3, sleepers=1)
            assert await run.wait_for(
                "SELECT interval_start, register FROM readings WHERE channel = 'grid_in' "
                "ORDER BY interval_start", rows=2) == [(t0, 1000000), (b2, 1001125)]
            await run.wait_for("SELECT 1 FROM series WHERE channel = 'grid_in'", rows=2)
            # Spread evenly in whole Wh, the odd Wh to the earlier interval; nothing lost.
            assert summary(await series(run, MAIN, "grid_in")) == [
                (b1, 0.563, 1000563, {"estimated"}),
                (b2, 0.562, 1001125, {"estimated", "gap"}),
            ]
            # The PV meter on the same bus was read at every poll.
            assert await run.query("SELECT count(*) FROM readings WHERE device_id = ?", PV) \
                == [(3,)]
            counters = run.plugin.snapshot()["devices"][MAIN]
            assert (counters["ok"], counters["failures"]) == (2, 1)
    finally:
        await server.stop()
