"""Modbus RTU: two meters on one serial line (pty pairs bridged in-process), through the gateway."""

from __future__ import annotations

from typing import Any

from tests.gateway.modbus.conftest import QUARTER, ManualClock, quarter_start
from tests.gateway.modbus.sim import Meter, PtyBridge, RtuMeters
from tests.gateway.modbus.test_tcp_end_to_end import series, summary

PLUGIN = """
[plugins.modbus]
power_period_s = 300

[[plugins.modbus.buses]]
name = "rs485"
type = "rtu"
serial = "{serial}"
baudrate = 9600
parity = "N"
stopbits = 1
timeout_s = 0.3
retries = 0

[[plugins.modbus.buses.devices]]
name = "quadro-generale"
unit = 1
map = "sdm630"
channels = {{ import_energy = "prelievo", export_energy = "immissione", power = "potenza" }}

[[plugins.modbus.buses.devices]]
name = "fotovoltaico"
unit = 7
map = "sdm120"
site = "lodi"
channels = {{ export_energy = "produzione" }}
"""

QUADRO, FV = "modbus:quadro-generale", "modbus:fotovoltaico"


async def test_two_meters_on_one_serial_line(modbus_gateway: Any) -> None:
    t0 = quarter_start()
    b1, b2, b3 = t0 + QUARTER, t0 + 2 * QUARTER, t0 + 3 * QUARTER
    quadro, fv = Meter(1, "sdm630"), Meter(7, "sdm120")
    bridge = PtyBridge()
    bridge.start()
    server = RtuMeters(bridge, quadro, fv)
    await server.start()
    clock = ManualClock(t0 + 2)
    try:
        async with modbus_gateway(PLUGIN.format(serial=bridge.client_path), clock,
                                  sleepers=2) as run:
            quadro.set(import_energy=20000.0, export_energy=5.0, power=4200.0)
            fv.set(export_energy=300.25)
            for when in range(t0 + 300, b1 + 1, 300):   # power at 300, 600; both at 900
                await clock.advance_to(when, sleepers=2)
            quadro.set(import_energy=20001.5, export_energy=5.0)
            fv.set(export_energy=301.0)
            fv.silent = True                   # the inverter's meter misses B2 ...
            for when in range(b1 + 300, b2 + 1, 300):
                await clock.advance_to(when, sleepers=2)
            fv.silent = False
            quadro.set(import_energy=20002.0, export_energy=5.125)
            fv.set(export_energy=302.5)        # ... and B3 brings 2250 Wh for both intervals
            for when in range(b2 + 300, b3 + 1, 300):
                await clock.advance_to(when, sleepers=2)

            await run.wait_for("SELECT 1 FROM readings", rows=8)
            assert await run.query(
                "SELECT device_id, channel, interval_start, register, unit FROM readings "
                "WHERE device_id = ? ORDER BY interval_start", FV) == [
                (FV, "produzione", t0, 300250, "Wh_export"),
                (FV, "produzione", b2, 302500, "Wh_export")]
            await run.wait_for("SELECT 1 FROM series", rows=6)
            assert summary(await series(run, QUADRO, "prelievo")) == [
                (b1, 1.5, 20001500, set()), (b2, 0.5, 20002000, set())]
            assert summary(await series(run, QUADRO, "immissione")) == [
                (b1, 0.0, 5000, set()), (b2, 0.125, 5125, set())]
            produzione = await series(run, FV, "produzione")
            assert summary(produzione) == [(b1, 1.125, 301375, {"estimated"}),
                                           (b2, 1.125, 302500, {"estimated", "gap"})]
            assert {r.quantity for r in produzione} == {"energy_export"}
            # Power every 5 minutes: 9 polls of the SDM630; the SDM120 has no power channel.
            power = await run.wait_for(
                "SELECT json_extract(payload, '$.w.potenza') FROM plugin_results "
                "WHERE name = 'power' AND device = ?", QUADRO, rows=9)
            assert power == [(4200.0,)] * 9
            counters = run.plugin.snapshot()["devices"]
            assert (counters[FV]["ok"], counters[FV]["failures"]) == (2, 1)
            assert (counters[QUADRO]["ok"], counters[QUADRO]["failures"]) == (12, 0)
    finally:
        await server.stop()
        bridge.close()
