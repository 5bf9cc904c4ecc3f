"""Session behaviour with a real TCP gateway stub: commands, reboots, power cuts, config."""

from __future__ import annotations

import json
from pathlib import Path

from tests.firmware.board import KEY_HEX, T0, readings, run_board, write_config
from tests.firmware.gateway_stub import GatewayStub

CHANNELS = [
    {"id": 0, "type": "ct", "samples_per_cycle": 8, "cycles": 2, "sample_every_s": 10},
    {"id": 1, "type": "pulse", "litres_per_pulse": 10},
]
FEED = ["+0 ct 0 rms=2.0", "+0 flow 1 lph=60"]


def _results(gw: GatewayStub) -> dict[int, dict]:
    return {f["cmd_id"]: f for f in gw.of_type("command_result")}


def test_commands_are_executed_once_and_answered(tmp_path: Path) -> None:
    gw = GatewayStub(bytes(range(16)))
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, CHANNELS)
        gw.command({"cmd_id": 1, "name": "set_threshold",
                    "params": {"channel": 0, "kind": 0, "value": 50}})
        gw.command({"cmd_id": 2, "name": "set_calibration",
                    "params": {"channel": 1, "ct_ratio": 1000}})  # not a CT channel
        gw.command({"cmd_id": 3, "name": "set_calibration",
                    "params": {"channel": 1, "pulse_ml": 20000}})
        gw.command({"cmd_id": 4, "name": "resend", "params": {"from_counter": 1,
                                                              "to_counter": 3}})
        gw.command({"cmd_id": 3, "name": "set_calibration",  # repeated: executed once
                    "params": {"channel": 1, "pulse_ml": 20000}})
        gw.command({"cmd_id": 5, "name": "set_interval", "params": {"channel": 0,
                                                                    "sample_s": 30}})
        proc = run_board(tmp_path, cfg, FEED, speed=3000, run_for=2 * 3600 + 60, port=gw.port)
        assert proc.returncode == 0, proc.stdout.decode()[-2000:] + proc.stderr.decode()
    finally:
        gw.close()
    res = _results(gw)
    assert res[1]["status"] == "ok"
    assert res[2]["status"] == "bad_params"
    assert res[3]["status"] == "ok"
    assert res[4]["status"] == "ok"
    assert res[5]["status"] == "ok"
    assert len(gw.of_type("command_result")) == 5  # cmd 3 answered once
    assert gw.duplicates >= 3 and gw.conflicts == 0  # resend: byte-identical frames
    # 2 A * 230 V = 460 W -> 115 Wh per quarter hour, above the 50 Wh threshold
    events = [e for f in gw.of_type("event") for e in f["events"]]
    assert any(e["code"] == "threshold" and e["channel"] == 0 for e in events)
    # 60 L/h at 10 L per pulse, then 20 L per pulse once the calibration arrived
    gas = readings(gw.frames, 1)
    assert gas[-1][1] - gas[-2][1] == 120


def test_reboot_command_and_power_cut_keep_registers_and_counters(tmp_path: Path) -> None:
    gw = GatewayStub(bytes(range(16)))
    state = tmp_path / "state"
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, CHANNELS)
        # run 1: 40 minutes, then the simulator cuts the power (no clean shutdown)
        p1 = run_board(tmp_path, cfg, [*FEED, "+2400 cut"], speed=2000, run_for=4000,
                       port=gw.port, state_dir=state)
        assert b"@cut" in p1.stdout, p1.stdout.decode()[-1500:] + p1.stderr.decode()
        # run 2: power back 5 minutes later; the gateway asks for a reboot
        gw.command({"cmd_id": 9, "name": "reboot", "params": {}})
        p2 = run_board(tmp_path, cfg, FEED, speed=2000, run_for=7200,
                       port=gw.port, state_dir=state,
                       extra=["--start", str(T0 + 2700)])
        assert p2.returncode == 75, p2.stdout.decode()[-1500:] + p2.stderr.decode()
        # run 3: after the soft reset
        p3 = run_board(tmp_path, cfg, FEED, speed=2000, run_for=1800,
                       port=gw.port, state_dir=state,
                       extra=["--start", str(T0 + 4000)])
        assert p3.returncode == 0, p3.stdout.decode()[-1500:] + p3.stderr.decode()
    finally:
        gw.close()
    hellos = gw.of_type("hello")
    assert [h["reset_cause"] for h in hellos] == ["power_on", "power_on", "soft"]
    assert _results(gw)[9]["status"] == "ok"
    assert gw.conflicts == 0  # no counter was ever reused for different bytes
    counters = [f["counter"] for f in gw.frames]
    assert len(set(counters)) == len(counters)
    ct = readings(gw.frames, 0)
    regs = [r for _, r, _ in ct]
    assert regs == sorted(regs) and regs[-1] > 0  # never reset, never lost
    flags = {s: f for s, _, f in ct}
    assert flags[T0 + 1800] & 0x05 == 0x05  # cut by the power loss: partial + power_loss
    assert flags[T0 + 3600] & 0x01 and not flags[T0 + 3600] & 0x04  # soft reset: partial
    assert not any(f & 0x20 for s, f in flags.items() if s > T0)  # no register reset


def test_bad_channel_config_is_reported_and_key_never_printed(tmp_path: Path) -> None:
    gw = GatewayStub(bytes(range(16)))
    try:
        chans = [dict(CHANNELS[0]), dict(CHANNELS[1], edge="sideways")]
        cfg = write_config(tmp_path / "cfg.json", gw.port, chans)
        proc = run_board(tmp_path, cfg, FEED, speed=2000, run_for=960, port=gw.port)
        assert proc.returncode == 0, proc.stdout.decode()[-1500:] + proc.stderr.decode()
    finally:
        gw.close()
    out = proc.stdout.decode() + proc.stderr.decode()
    assert "channels[1].edge" in out and "sideways" in out
    assert KEY_HEX not in out
    events = [e for f in gw.of_type("event") for e in f["events"]]
    assert any(e["code"] == "config_error" and e["channel"] == 1 for e in events)
    assert readings(gw.frames, 0)  # the good channel still meters
    assert not readings(gw.frames, 1)


def test_unusable_config_stops_with_a_clear_message(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"device_id": 5, "key": "zz" * 16,
                               "gateway": {"host": "x", "port": 1}, "channels": []}))
    proc = run_board(tmp_path, cfg, [], speed=1, run_for=10)
    out = proc.stdout.decode()
    assert proc.returncode == 2
    assert "config key: must be 32 hex digits" in out
    assert "zz" * 16 not in out
