"""The installer self-test (firmware/selftest.py) under the real MicroPython binary.

CT inputs fed with known sines and broken levels through the SimHal feed, pulse inputs with a
wrong idle level, and the modem checks against simulator/modem.py with injected faults.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from simulator import modem as sim_modem
from simulator.modem import ModemFaults, SimModem
from tests.firmware.board import write_config
from tests.support.micropython import run_micropython

HERE = Path(__file__).parent


def _selftest(tmp: Path, channels: list[dict], feed: list[str] | None = None, *,
              modem: str | None = None, modem_cfg: dict | None = None,
              idle: dict[int, int] | None = None, reg_wait_s: int = 3,
              limit_s: int = 30, info: dict | None = None,
              **extra: str) -> tuple[dict[str, tuple[str, str]], list[str], int]:
    """(checks by name, names in order, elapsed ms) of one self-test run; `info` receives the
    raw result (with "power", the HAL's modem_power calls); `extra` goes to the case
    (mp_selftest.py: modem_type, stream_error)."""
    cfg = write_config(tmp / "cfg.json", 4810, channels,
                       modem=modem_cfg or {"type": "none"})
    case = {"config": str(cfg), "state": str(tmp), "modem": modem, "idle": idle or {},
            "reg_wait_s": reg_wait_s, "limit_s": limit_s, "feed": None, **extra}
    if feed is not None:
        (tmp / "feed.txt").write_text("\n".join(feed) + "\n")
        case["feed"] = str(tmp / "feed.txt")
    (tmp / "case.json").write_text(json.dumps(case))
    proc = run_micropython(HERE / "mp_selftest.py", str(tmp / "case.json"), cwd=tmp, timeout=90)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out[-2000:] + proc.stderr.decode()
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    data = json.loads(line[7:])
    if info is not None:
        info.update(data)
    checks = {name: (status, detail) for name, status, detail in data["checks"]}
    return checks, [c[0] for c in data["checks"]], data["ms"]


def _amps(detail: str) -> float:
    m = re.search(r"([\d.]+) A rms", detail)
    assert m, detail
    return float(m.group(1))


# -- CT inputs ---------------------------------------------------------------------------------
def test_ct_sine_reports_ok_and_its_rms_with_the_channel_calibration(tmp_path: Path) -> None:
    channels = [
        {"id": 0, "type": "ct"},  # 2000:1 current clamp on 33 ohm
        {"id": 2, "type": "ct", "ct_ratio": 30, "burden_ohm": 1.0, "gain": 1.1},  # 30 A / 1 V
    ]
    feed = ["+0 ct 0 rms=10 noise=3", "+0 ct 2 rms=20 offset=31500 noise=3"]
    checks, order, _ms = _selftest(tmp_path, channels, feed)
    assert order == ["adc0", "adc2", "modem", "heap"]
    assert checks["adc0"][0] == "ok", checks["adc0"]
    assert checks["adc2"][0] == "ok", checks["adc2"]
    # The feed is in amps through the clamp; the board reports them through its calibration:
    # ch0 10 A (gain 1), ch2 20 A * gain 1.1 = 22 A.
    assert _amps(checks["adc0"][1]) == pytest.approx(10.0, rel=0.02)
    assert _amps(checks["adc2"][1]) == pytest.approx(22.0, rel=0.02)
    # bias: mid-rail 32768 counts = 50.0 %; 31500 counts = 48.1 %
    assert "bias 50.0 %" in checks["adc0"][1]
    assert "bias 48.1 %" in checks["adc2"][1]
    # the swing: 10 A peak through 2000:1 into 33 ohm, in counts of 3.3 V / 65535
    peak = 10 * math.sqrt(2) / 2000 * 33 / 3.3 * 65535
    lo, hi = map(int, re.search(r"counts (\d+)\.\.(\d+)", checks["adc0"][1]).groups())
    assert hi - lo == pytest.approx(2 * peak, rel=0.03)


def test_unfed_input_idles_at_mid_rail(tmp_path: Path) -> None:
    checks, _order, _ms = _selftest(tmp_path, [{"id": 0, "type": "ct"}])
    assert checks["adc0"][0] == "ok"
    assert _amps(checks["adc0"][1]) < 0.01


@pytest.mark.parametrize(("feed", "why"), [
    ("ct 0 offset=0", "stuck at a rail"),            # pinned at 0: no bias network, wrong pin
    ("ct 0 offset=70000", "stuck at a rail"),        # pinned at 65535
    ("ct 0 rms=1 offset=16000", "bias far from mid-rail"),  # 24 % of range
    ("ct 0 rms=200", "clipping"),                    # 200 A on a 2000:1 / 33 ohm input
    ("ct 0 samples=32768", "no noise at all"),       # perfectly flat
])
def test_broken_ct_input_fails(tmp_path: Path, feed: str, why: str) -> None:
    checks, _order, _ms = _selftest(tmp_path, [{"id": 0, "type": "ct"}], ["+0 " + feed])
    status, detail = checks["adc0"]
    assert status == "fail" and why in detail, detail


def test_voltage_channel_checks_both_inputs(tmp_path: Path) -> None:
    # SimHal's voltage input rests at mid-rail (0 V): its level passes, its figure is shown
    ch = {"id": 0, "type": "ct", "v_pin": 35, "v_ratio": 230}
    checks, _order, _ms = _selftest(tmp_path, [ch], ["+0 ct 0 rms=5"])
    assert checks["adc0"][0] == "ok" and "0 V rms" in checks["adc0"][1]


# -- pulse inputs ------------------------------------------------------------------------------
def test_pulse_idle_level_must_match_the_edge(tmp_path: Path) -> None:
    channels = [
        {"id": 1, "type": "pulse", "edge": "falling", "pull": "up"},
        {"id": 3, "type": "pulse", "edge": "falling", "pull": "up"},
        {"id": 4, "type": "pulse", "edge": "rising", "pull": "down"},
        {"id": 5, "type": "pulse", "edge": "rising", "pull": "down"},
    ]
    # ch3: reed closed or shorted to ground; ch5: input stuck high
    checks, order, _ms = _selftest(tmp_path, channels, idle={3: 0, 5: 1})
    assert order[:4] == ["pulse1", "pulse3", "pulse4", "pulse5"]
    assert checks["pulse1"] == ("ok", "idle level 1 (contact open, falling edge)")
    assert checks["pulse4"] == ("ok", "idle level 0 (contact open, rising edge)")
    assert checks["pulse3"][0] == "fail" and "expected 1" in checks["pulse3"][1]
    assert checks["pulse5"][0] == "fail" and "expected 0" in checks["pulse5"][1]


# -- modem -------------------------------------------------------------------------------------
MODEM = {"type": "sim7000", "apn": "iot.example"}
CT = [{"id": 0, "type": "ct"}]
DATA_COMMANDS = ("AT+CSTT", "AT+CIICR", "AT+CIPSTART", "AT+CIPSEND")


@contextlib.contextmanager
def _sim_modem(faults: ModemFaults):
    modem = SimModem(("127.0.0.1", 9), faults)  # the data target is never used
    port = modem.start_in_thread()
    try:
        yield modem, f"127.0.0.1:{port}"
    finally:
        modem.stop()


def test_modem_sim_signal_and_network_ok(tmp_path: Path) -> None:
    info: dict = {}
    with _sim_modem(ModemFaults(csq=18)) as (modem, addr):
        checks, order, _ms = _selftest(tmp_path, CT, modem=addr, modem_cfg=MODEM, info=info)
    assert order == ["adc0", "modem", "sim", "signal", "network", "heap"]
    assert checks["modem"] == ("ok", "answers AT (sim7000)")
    assert checks["sim"] == ("ok", "SIM ready")
    assert checks["signal"] == ("ok", "CSQ 18, -77 dBm")  # -113 + 2 * 18
    assert checks["network"][0] == "ok" and "home network" in checks["network"][1]
    assert checks["heap"][0] == "ok" and "bytes free" in checks["heap"][1]
    cmds = modem.stats.commands
    assert "AT+CPIN?" in cmds and "AT+CSQ" in cmds and "AT+CEREG?" in cmds
    assert not [c for c in cmds if c.startswith(DATA_COMMANDS)]  # no data connection
    assert cmds[-1] == "AT+CPOWD=1"  # left powered down, as the firmware expects at boot
    assert info["power"] == [False]


def test_no_registration_fails_only_the_network_check_within_the_wait(tmp_path: Path) -> None:
    with _sim_modem(ModemFaults(no_register=True)) as (modem, addr):
        checks, _order, ms = _selftest(tmp_path, CT, modem=addr, modem_cfg=MODEM, reg_wait_s=3)
    assert [checks[k][0] for k in ("modem", "sim", "signal")] == ["ok", "ok", "ok"]
    status, detail = checks["network"]
    assert status == "fail" and "not registered after 3 s (searching)" in detail
    assert 3000 <= ms < 10000
    assert modem.stats.commands.count("AT+CEREG?") >= 2  # polled, not asked once


@pytest.mark.parametrize(("csq", "status", "detail"), [
    (99, "fail", "no signal (CSQ 99)"),
    (3, "fail", "very weak: CSQ 3, -107 dBm"),
    (7, "ok", "weak: CSQ 7, -99 dBm"),
])
def test_signal_thresholds(tmp_path: Path, csq: int, status: str, detail: str) -> None:
    with _sim_modem(ModemFaults(csq=csq)) as (_modem, addr):
        checks, _order, _ms = _selftest(tmp_path, CT, modem=addr, modem_cfg=MODEM)
    assert checks["signal"][0] == status and detail in checks["signal"][1], checks["signal"]
    assert checks["network"][0] == "ok"


def _powered_down(modem: SimModem, info: dict) -> bool:
    """The modem got its power-down command last, then the HAL switched it off: the state the
    firmware expects at boot (its first PWRKEY pulse toggles the power)."""
    for _ in range(40):  # the simulator logs what it read on its own thread
        if modem.stats.commands[-1:] == ["AT+CPOWD=1"]:
            break
        time.sleep(0.05)
    return modem.stats.commands[-1] == "AT+CPOWD=1" and info["power"][-1:] == [False]


def test_time_limit_bounds_the_registration_wait(tmp_path: Path) -> None:
    info: dict = {}
    with _sim_modem(ModemFaults(no_register=True)) as (modem, addr):
        checks, _order, ms = _selftest(tmp_path, CT, modem=addr, modem_cfg=MODEM,
                                       reg_wait_s=60, limit_s=4, info=info)
        assert _powered_down(modem, info), (modem.stats.commands, info["power"])
    assert ms < 8000
    assert checks["modem"][0] == checks["sim"][0] == checks["signal"][0] == "ok"
    assert checks["network"][0] == "fail" and "time limit" in checks["network"][1]
    assert checks["heap"][0] == "ok"


def _answer(monkeypatch: pytest.MonkeyPatch, command: str, answer: str) -> None:
    """Make the simulated modem answer `command` with `answer` (simulator/modem.py has no
    such fault)."""
    real = sim_modem._Session._command

    async def command_(self: sim_modem._Session, cmd: str, rest: bytes) -> bytes:
        if cmd.upper() != command:
            return await real(self, cmd, rest)
        self.m.stats.commands.append(cmd)
        self._out(answer)
        return rest

    monkeypatch.setattr(sim_modem._Session, "_command", command_)


def test_modem_error_mid_test_fails_the_check_and_powers_the_modem_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the AT driver raises (AtError) while polling the registration
    _answer(monkeypatch, "AT+CEREG?", "+CME ERROR: operation not allowed")
    info: dict = {}
    with _sim_modem(ModemFaults()) as (modem, addr):
        checks, _order, _ms = _selftest(tmp_path, CT, modem=addr, modem_cfg=MODEM, info=info)
        assert _powered_down(modem, info), (modem.stats.commands, info["power"])
    assert checks["modem"][0] == checks["sim"][0] == "ok"
    assert checks["signal"] == (
        "fail", "modem error: modem answered +CME ERROR: operation not allowed")
    assert checks["network"] == ("n/a", "not reached")
    assert checks["adc0"][0] == checks["heap"][0] == "ok"


@pytest.mark.parametrize(("extra", "detail"), [
    ({"stream_error": "ValueError"}, "ValueError: invalid pin (sim7000, UART1 tx 17 rx 16"),
    ({"modem_type": "sim800"}, "KeyError: sim800"),  # no AT table for the type
])
def test_modem_setup_error_is_the_modem_check_the_inputs_stay(
        tmp_path: Path, extra: dict[str, str], detail: str) -> None:
    info: dict = {}
    channels = [{"id": 0, "type": "ct"}, {"id": 1, "type": "pulse", "edge": "falling",
                                          "pull": "up"}]
    with _sim_modem(ModemFaults()) as (modem, addr):
        checks, order, _ms = _selftest(tmp_path, channels, modem=addr, modem_cfg=MODEM,
                                       info=info, **extra)
    assert order == ["adc0", "pulse1", "modem", "sim", "signal", "network", "heap"]
    assert checks["adc0"][0] == checks["pulse1"][0] == checks["heap"][0] == "ok"
    status, text = checks["modem"]
    assert status == "fail" and text.startswith(detail), text
    assert [checks[k][0] for k in ("sim", "signal", "network")] == ["n/a"] * 3
    assert not modem.stats.commands  # never talked to
    assert info["power"] == [False]  # whatever the pins did, switched off (if the HAL can)


def test_modem_not_answering_fails_and_skips_the_rest(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    checks, _order, _ms = _selftest(tmp_path, CT, modem=f"127.0.0.1:{port}", modem_cfg=MODEM)
    assert checks["modem"][0] == "fail" and "UART1 tx 17 rx 16" in checks["modem"][1]
    assert [checks[k][0] for k in ("sim", "signal", "network")] == ["n/a"] * 3


class _NoSimModem:
    """A modem that answers AT but has no SIM (simulator/modem.py has no such fault)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.commands: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        conn.settimeout(60)
        buf = b""
        with conn, contextlib.suppress(OSError):
            while data := conn.recv(1024):
                buf += data
                while b"\r" in buf:
                    line, buf = buf.split(b"\r", 1)
                    cmd = line.strip().decode()
                    if cmd:
                        self.commands.append(cmd)
                        ans = "+CME ERROR: SIM not inserted" if cmd == "AT+CPIN?" else "OK"
                        conn.sendall(b"\r\n" + ans.encode() + b"\r\n")

    def close(self) -> None:
        self.sock.close()


def test_missing_sim_fails_the_sim_check(tmp_path: Path) -> None:
    fake = _NoSimModem()
    try:
        checks, _order, _ms = _selftest(tmp_path, CT, modem=f"127.0.0.1:{fake.port}",
                                        modem_cfg=MODEM, reg_wait_s=2)
    finally:
        fake.close()
    assert checks["modem"][0] == "ok"
    assert checks["sim"] == ("fail", "SIM not ready: modem answered +CME ERROR: SIM not inserted")
    assert checks["signal"][0] == checks["network"][0] == "n/a"
    assert "AT+CMEE=2" in fake.commands and fake.commands.count("AT+CPIN?") >= 2


def test_no_modem_in_the_config_is_not_applicable(tmp_path: Path) -> None:
    checks, order, _ms = _selftest(tmp_path, CT)
    assert checks["modem"] == ("n/a", "no modem in the config (modem.type none)")
    assert "sim" not in order
