"""The real AT driver against simulator/modem.py, bridged to a real TCP gateway stub."""

from __future__ import annotations

from pathlib import Path

from simulator.modem import ModemFaults, SimModem
from tests.firmware.board import T0, readings, run_board, write_config
from tests.firmware.gateway_stub import GatewayStub

CHANNELS = [{"id": 0, "type": "ct", "samples_per_cycle": 8, "cycles": 2, "sample_every_s": 30}]
FEED = ["+0 ct 0 rms=3.0"]
MODEM = {"type": "sim7000", "apn": "iot.example", "power_cycle_after": 3}


def _run(tmp_path: Path, faults: ModemFaults, run_for: int, speed: float = 3000):
    gw = GatewayStub(bytes(range(16)))
    modem = SimModem(("127.0.0.1", gw.port), faults)
    mport = modem.start_in_thread()
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, CHANNELS, modem=MODEM,
                           upload={"backoff_min_s": 10, "backoff_max_s": 120})
        proc = run_board(tmp_path, cfg, FEED, speed=speed, run_for=run_for, port=gw.port,
                         extra=["--modem", f"127.0.0.1:{mport}"])
    finally:
        modem.stop()
        gw.close()
    return proc, gw, modem


def test_frames_travel_through_the_modem_to_the_gateway(tmp_path: Path) -> None:
    proc, gw, modem = _run(tmp_path, ModemFaults(csq=21), 3600 + 60)
    assert proc.returncode == 0, proc.stdout.decode()[-2000:] + proc.stderr.decode()
    cmds = modem.stats.commands
    for expected in ("ATE0", "AT+CPIN?", "AT+CEREG?", "AT+CSQ", 'AT+CSTT="iot.example","",""',
                     "AT+CIICR", f'AT+CIPSTART="TCP","127.0.0.1",{gw.port}'):
        assert expected in cmds, expected
    assert any(c.startswith("AT+CIPSEND=") for c in cmds)
    assert [h["type"] for h in gw.frames[:1]] == ["hello"]
    ct = readings(gw.frames, 0)
    assert [s for s, _, _ in ct] == list(range(T0, T0 + 3600, 900))
    assert modem.stats.bytes_down > 0  # ACKs came back through +IPD
    status = gw.of_type("status")
    assert not status or status[-1]["csq"] == 21


def test_registration_failure_power_cycles_the_modem_but_never_reboots(tmp_path: Path) -> None:
    # the network is unreachable until the modem has been reset once
    proc, gw, modem = _run(tmp_path, ModemFaults(register_after_resets=1), 3600 + 60)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out[-2000:] + proc.stderr.decode()
    assert "@reboot" not in out and "@watchdog" not in out
    assert modem.stats.resets >= 1  # power-cycled after repeated failures
    assert modem.stats.commands.count("AT+CFUN=1,1") == modem.stats.resets
    # registration was polled repeatedly before the reset
    assert modem.stats.commands.count("AT+CEREG?") > 3
    assert [h["reset_cause"] for h in gw.of_type("hello")] == ["power_on"]  # one boot
    assert [s for s, _, _ in readings(gw.frames, 0)] == list(range(T0, T0 + 3600, 900))


def test_dropped_connection_and_failed_connects_lose_nothing(tmp_path: Path) -> None:
    faults = ModemFaults(fail_connects=2, drop_after_bytes=150)
    proc, gw, modem = _run(tmp_path, faults, 2 * 3600 + 60)
    assert proc.returncode == 0, proc.stdout.decode()[-2000:] + proc.stderr.decode()
    assert modem.stats.drops == 1
    assert modem.stats.connects >= 2  # reconnected after the drop
    assert faults.fail_connects == 0  # both refused connects were retried past
    ct = readings(gw.frames, 0)
    assert [s for s, _, _ in ct] == list(range(T0, T0 + 2 * 3600, 900))  # once each, in order
    assert gw.conflicts == 0
