"""Faults on a TCP bus: a meter that stops answering, and a server (converter) that restarts.

Request counts are what pymodbus's server received, not what the plugin thinks it sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.gateway.modbus.conftest import QUARTER, ManualClock, quarter_start
from tests.gateway.modbus.sim import Meter, TcpMeters
from tests.gateway.modbus.test_tcp_end_to_end import MAIN, PV, series, summary
from tests.support.ports import free_port

PLUGIN = """
[plugins.modbus]

[plugins.modbus.backoff]
initial_s = {initial}
maximum_s = {maximum}
jitter = {jitter}

[[plugins.modbus.buses]]
name = "quadro"
type = "tcp"
host = "127.0.0.1"
port = {port}
timeout_s = 0.2
retries = 0

[[plugins.modbus.buses.devices]]
name = "sdm630-main"
unit = 1
map = "sdm630"
channels = {{ import_energy = "grid_in", export_energy = "grid_out" }}

[[plugins.modbus.buses.devices]]
name = "sdm120-pv"
unit = 2
map = "sdm120"
channels = {{ import_energy = "pv" }}
"""


async def test_silent_meter_backs_off_and_the_other_keeps_being_read(
        modbus_gateway: Any) -> None:
    t0 = quarter_start()
    main, pv = Meter(1, "sdm630"), Meter(2, "sdm120")
    main.set(import_energy=500.0)
    pv.silent = True
    server = TcpMeters(free_port(), main, pv)
    await server.start()
    clock = ManualClock(t0 + 1)
    # No jitter here, so the schedule can be worked out: delays 900, 1800, 3600 s.
    toml = PLUGIN.format(port=server.port, initial=900, maximum=3600, jitter=0)
    try:
        async with modbus_gateway(toml, clock, sleepers=1) as run:
            for k in range(1, 9):
                await clock.advance_to(t0 + k * QUARTER, sleepers=1)
            # PV fails at B1 (retry at B2), B2 (retry at B4), B4 (retry at B8), B8: 4 attempts,
            # one request each; skipped at B3, B5, B6, B7.
            assert pv.requests == 4
            # The SDM630 was read at all 8 boundaries, two registers each.
            assert main.requests == 16
            counters = run.plugin.snapshot()["devices"]
            assert (counters[PV]["failures"], counters[PV]["skipped_backoff"],
                    counters[PV]["ok"]) == (4, 4, 0)
            assert (counters[MAIN]["ok"], counters[MAIN]["failures"]) == (8, 0)
            rows = await run.wait_for("SELECT device_id, count(*) FROM readings "
                                      "GROUP BY device_id", rows=1)
            assert rows == [(MAIN, 16)]
            # The bus itself never dropped: one connection for the whole run.
            bus = run.plugin.snapshot()["buses"]["quadro"]
            assert (bus["connects"], bus["connect_failures"]) == (1, 0)
    finally:
        await server.stop()


async def test_server_restart_reconnects_without_duplicate_or_invented_readings(
        modbus_gateway: Any) -> None:
    t0 = quarter_start()
    b = {k: t0 + k * QUARTER for k in range(1, 7)}
    main, pv = Meter(1, "sdm630"), Meter(2, "sdm120")
    port = free_port()
    server = TcpMeters(port, main, pv)
    await server.start()
    clock = ManualClock(t0 + 1)
    toml = PLUGIN.format(port=port, initial=60, maximum=600, jitter=0.5)
    try:
        async with modbus_gateway(toml, clock, sleepers=1) as run:
            main.set(import_energy=100.0)
            await clock.advance_to(b[1], sleepers=1)
            main.set(import_energy=100.5)
            await clock.advance_to(b[2], sleepers=1)
            await server.stop()                       # the converter reboots ...
            main.set(import_energy=101.0)
            await clock.advance_to(b[3], sleepers=1)  # connection refused
            await clock.advance_to(b[4], sleepers=1)  # refused again (backoff <= 120 s)
            main.set(import_energy=102.0)             # ... while the meter kept counting
            server = TcpMeters(port, main, pv)
            await server.start()
            await clock.advance_to(b[5], sleepers=1)
            main.set(import_energy=102.25)
            await clock.advance_to(b[6], sleepers=1)

            rows = await run.wait_for(
                "SELECT interval_start, register, flags FROM readings "
                "WHERE channel = 'grid_in' ORDER BY interval_start", rows=4)
            # Exactly the polls that got an answer; nothing for B3 and B4, nothing twice.
            assert rows == [(b[1] - QUARTER, 100000, 0), (b[2] - QUARTER, 100500, 0),
                            (b[5] - QUARTER, 102000, 0), (b[6] - QUARTER, 102250, 0)]
            await run.wait_for("SELECT 1 FROM series WHERE channel = 'grid_in'", rows=5)
            # The 1500 Wh of the outage are spread over its three intervals, none is lost.
            assert summary(await series(run, MAIN, "grid_in")) == [
                (b[2] - QUARTER, 0.5, 100500, set()),
                (b[3] - QUARTER, 0.5, 101000, {"estimated"}),
                (b[4] - QUARTER, 0.5, 101500, {"estimated"}),
                (b[5] - QUARTER, 0.5, 102000, {"estimated", "gap"}),
                (b[6] - QUARTER, 0.25, 102250, set()),
            ]
            bus = run.plugin.snapshot()["buses"]["quadro"]
            # One attempt per poll while down (the second device waits for the backoff).
            assert (bus["connects"], bus["connect_failures"]) == (2, 2)
            assert run.plugin.snapshot()["devices"][PV]["failures"] == 0
    finally:
        await server.stop()


async def test_swap_while_the_gateway_was_down_is_still_flagged(modbus_gateway: Any) -> None:
    t0 = quarter_start()
    main, pv = Meter(1, "sdm630"), Meter(2, "sdm120")
    server = TcpMeters(free_port(), main, pv)
    await server.start()
    toml = PLUGIN.format(port=server.port, initial=60, maximum=600, jitter=0.5)
    try:
        clock = ManualClock(t0 + 1)
        async with modbus_gateway(toml, clock, sleepers=1) as run:
            for k, kwh in ((1, 52.0), (2, 52.25)):
                pv.set(import_energy=kwh)
                await clock.advance_to(t0 + k * QUARTER, sleepers=1)
            await run.wait_for("SELECT 1 FROM series WHERE device_id = ?", PV, rows=1)
        # Meter swapped during the restart: the new process learns 52.25 kWh from the series.
        pv.set(import_energy=0.375)
        clock = ManualClock(t0 + 2 * QUARTER + 5)
        async with modbus_gateway(toml, clock, sleepers=1) as run:
            await clock.advance_to(t0 + 3 * QUARTER, sleepers=1)
            await run.wait_for("SELECT 1 FROM series WHERE device_id = ?", PV, rows=2)
            assert summary(await series(run, PV, "pv")) == [
                (t0 + QUARTER, 0.25, 52250, set()),
                (t0 + 2 * QUARTER, 0.375, 375, {"register_reset"})]
    finally:
        await server.stop()


async def test_late_poll_is_dropped_and_a_broken_register_fails_only_its_device(
        modbus_gateway: Any, tmp_path: Any) -> None:
    # A map whose register lies outside what the meter serves: every read is an exception
    # response (illegal address), a failure of that device alone.
    broken = tmp_path / "broken.toml"
    broken.write_text('[registers.total]\naddress = 0x0100\ntype = "float32"\nunit = "kWh"\n')
    t0 = quarter_start()
    main, pv = Meter(1, "sdm630"), Meter(2, "sdm120")
    server = TcpMeters(free_port(), main, pv)
    await server.start()
    toml = PLUGIN.format(port=server.port, initial=60, maximum=600, jitter=0.5).replace(
        'map = "sdm120"\nchannels = { import_energy = "pv" }',
        f'map = "{broken}"\nchannels = {{ total = "pv" }}')
    assert str(broken) in toml
    try:
        clock = ManualClock(t0 + 1)
        async with modbus_gateway(toml, clock, sleepers=1) as run:
            main.set(import_energy=10.0)
            await clock.advance_to(t0 + QUARTER, sleepers=1)
            main.set(import_energy=10.5)
            # The loop wakes 2 minutes after the boundary (host suspended): too late, dropped.
            await clock.advance_to(t0 + 2 * QUARTER + 120, sleepers=1)
            main.set(import_energy=11.0)
            await clock.advance_to(t0 + 3 * QUARTER, sleepers=1)
            assert await run.wait_for(
                "SELECT interval_start, register FROM readings WHERE channel = 'grid_in' "
                "ORDER BY interval_start", rows=2) == [(t0, 10000), (t0 + 2 * QUARTER, 11000)]
            await run.wait_for("SELECT 1 FROM series WHERE channel = 'grid_in'", rows=2)
            assert summary(await series(run, MAIN, "grid_in")) == [
                (t0 + QUARTER, 0.5, 10500, {"estimated"}),
                (t0 + 2 * QUARTER, 0.5, 11000, {"estimated", "gap"})]
            counters = run.plugin.snapshot()["devices"]
            assert (counters[MAIN]["ok"], counters[MAIN]["late"]) == (3, 1)
            assert (counters[PV]["ok"], counters[PV]["failures"]) == (0, 3)
            assert "exception response, code 2" in counters[PV]["last_error"]
    finally:
        await server.stop()


Quadro = tuple[Meter, Meter, str]


@pytest.fixture
async def quadro() -> AsyncIterator[Quadro]:
    """The main SDM630 (unit 1) and the PV SDM120 (unit 2) on a Modbus TCP server, and the
    plugin config reading them (60 s first backoff)."""
    main, pv = Meter(1, "sdm630"), Meter(2, "sdm120")
    server = TcpMeters(free_port(), main, pv)
    await server.start()
    try:
        yield main, pv, PLUGIN.format(port=server.port, initial=60, maximum=600, jitter=0.5)
    finally:
        await server.stop()


async def test_an_absurd_register_fails_only_its_device(modbus_gateway: Any,
                                                       quadro: Quadro) -> None:
    # 1e30 kWh is finite and positive but no meter's: it must not stop the neighbour's
    # readings from being stored (they were one batch per bus once, refused together).
    t0 = quarter_start()
    main, pv, toml = quadro
    clock = ManualClock(t0 + 1)
    async with modbus_gateway(toml, clock, sleepers=1) as run:
        pv.set(import_energy=1e30)
        for k, kwh in ((1, 10.0), (2, 10.5)):
            main.set(import_energy=kwh)
            await clock.advance_to(t0 + k * QUARTER, sleepers=1)
        assert await run.wait_for(
            "SELECT interval_start, register FROM readings WHERE channel = 'grid_in' "
            "ORDER BY interval_start", rows=2) == [(t0, 10000), (t0 + QUARTER, 10500)]
        assert await run.query("SELECT count(*) FROM readings WHERE channel = 'pv'") == [
            (0,)]
        counters = run.plugin.snapshot()["devices"]
        # its backoff (60 s at most 1.5x) has expired by the next quarter: polled twice
        assert (counters[PV]["ok"], counters[PV]["failures"]) == (0, 2)
        assert counters[PV]["last_error"] == "implausible value in import_energy"


async def _meter_replaced(run: Any) -> list[tuple[Any, ...]]:
    return await run.query(
        "SELECT json_extract(payload, '$.before_wh'), json_extract(payload, '$.now_wh') "
        "FROM plugin_results WHERE name = 'meter_replaced' ORDER BY time")


async def test_a_swap_reported_before_a_restart_is_not_reported_again(
        modbus_gateway: Any, quadro: Quadro) -> None:
    # A used meter (800.25 kWh) replaces one at 900.5 kWh: reported once, and the swap
    # quarter has no series row (its energy is unknown), so the restart must not take the
    # series' last register (the old meter's) as the new meter's and report it again.
    t0 = quarter_start()
    _main, pv, toml = quadro
    clock = ManualClock(t0 + 1)
    async with modbus_gateway(toml, clock, sleepers=1) as run:
        for k, kwh in ((1, 900.0), (2, 900.5), (3, 800.25)):
            pv.set(import_energy=kwh)
            await clock.advance_to(t0 + k * QUARTER, sleepers=1)
        await run.wait_for("SELECT 1 FROM plugin_results WHERE name = 'meter_replaced'",
                           rows=1)
    pv.set(import_energy=800.5)
    clock = ManualClock(t0 + 3 * QUARTER + 5)
    async with modbus_gateway(toml, clock, sleepers=1) as run:
        await clock.advance_to(t0 + 4 * QUARTER, sleepers=1)
        await run.wait_for("SELECT 1 FROM readings WHERE channel = 'pv'", rows=4)
        await run.wait_for("SELECT 1 FROM series WHERE device_id = ?", PV, rows=2)
        assert await _meter_replaced(run) == [(900500, 800250)]
        assert summary(await series(run, PV, "pv"))[-1] == (
            t0 + 3 * QUARTER, 0.25, 800500, set())


async def test_a_swap_after_a_single_reading_and_a_restart_is_flagged(
        modbus_gateway: Any, quadro: Quadro) -> None:
    # Only one reading before the restart: it has no series row, only a register.
    t0 = quarter_start()
    _main, pv, toml = quadro
    clock = ManualClock(t0 + 1)
    async with modbus_gateway(toml, clock, sleepers=1) as run:
        pv.set(import_energy=52.0)
        await clock.advance_to(t0 + QUARTER, sleepers=1)
        await run.wait_for("SELECT 1 FROM readings WHERE channel = 'pv'", rows=1)
    pv.set(import_energy=0.375)      # a new meter, counting from zero
    clock = ManualClock(t0 + QUARTER + 5)
    async with modbus_gateway(toml, clock, sleepers=1) as run:
        await clock.advance_to(t0 + 2 * QUARTER, sleepers=1)
        await run.wait_for("SELECT 1 FROM series WHERE device_id = ?", PV, rows=1)
        assert await _meter_replaced(run) == [(52000, 375)]
        assert summary(await series(run, PV, "pv")) == [
            (t0 + QUARTER, 0.375, 375, {"register_reset"})]
