"""Downlink on the board: a captured ACK or COMMAND sent again does nothing (PROTOCOL.md 7);
command results carry the details PROTOCOL.md 5.7 specifies.

The board runs under the real MicroPython binary against a TCP gateway stub that records every
downlink frame it seals. Later runs (each a reboot of the same board: same flash) get those
exact bytes again, ahead of fresh ACKs. The commands are chosen so that the board's 16-entry
memory of cmd_ids no longer holds them: only the downlink counter floor can stop them.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

from protocol import codec
from protocol.errors import ProtocolError
from protocol.stream import Deframer
from tests.firmware.board import DEVICE_ID, KEY, T0, readings, run_board, write_config

CHANNELS = [{"id": 1, "type": "pulse", "litres_per_pulse": 10}]
FEED = ["+0 flow 1 lph=60"]
DAY = 86400
LATER = T0 + 10 * DAY  # when the replay runs: ten days after the frames were captured
# Corrections within 3 days are ignored, so the stub's fixed server_time never moves the clock;
# a replayed ACK from ten days ago would (the attack: billing intervals shifted back).
CLOCK = {"max_drift_s": 3 * DAY}


class ScriptedGateway:
    """Stores uplink frames by counter, answers every read with one ACK of the highest counter
    received on the connection. Queued COMMAND frames and ACK command lists go out with the
    next answer; `replay` bytes are written verbatim at the start of each new connection."""

    def __init__(self, key: bytes, server_time: int) -> None:
        self.key = key
        self.server_time = server_time
        self.frames: list[dict[str, Any]] = []
        self.sent: list[bytes] = []  # every downlink frame sealed here, in order
        self.replay = b""
        self._seen: set[int] = set()
        self._down = 0
        self._standalone: list[dict[str, Any]] = []
        self._ack_cmds: list[list[dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def command_frame(self, cmd: dict[str, Any]) -> None:
        with self._lock:
            self._standalone.append(cmd)

    def ack_commands(self, cmds: list[dict[str, Any]]) -> None:
        with self._lock:
            self._ack_cmds.append(cmds)

    def results(self, cmd_id: int) -> list[dict[str, Any]]:
        return [f for f in self.frames
                if f["type"] == "command_result" and f["cmd_id"] == cmd_id]

    def close(self) -> None:
        self._sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _seal(self, msg: dict[str, Any]) -> bytes:
        self._down += 1
        raw = codec.encode({**msg, "device_id": DEVICE_ID, "counter": self._down}, self.key)
        self.sent.append(raw)
        return raw

    def _serve(self, conn: socket.socket) -> None:
        df = Deframer()
        best = None
        first = True
        with conn:
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                for raw in df.feed(data):
                    try:
                        msg = codec.decode(raw, self.key)
                    except ProtocolError:  # e.g. sealed under another key: not stored
                        continue
                    with self._lock:
                        if msg["counter"] not in self._seen:
                            self._seen.add(msg["counter"])
                            self.frames.append(msg)
                    best = msg["counter"] if best is None else max(best, msg["counter"])
                if best is None:
                    continue
                with self._lock:
                    out = self.replay if first else b""
                    first = False
                    for cmd in self._standalone:
                        out += self._seal({"type": "command", **cmd})
                    self._standalone = []
                    cmds = self._ack_cmds.pop(0) if self._ack_cmds else []
                    out += self._seal({"type": "ack", "acked": best,
                                       "server_time": self.server_time, "commands": cmds})
                try:
                    conn.sendall(out)
                except OSError:
                    return


def _ok(proc: Any, code: int = 0) -> str:
    out = proc.stdout.decode()
    assert proc.returncode == code, out[-2500:] + proc.stderr.decode()[-1500:]
    return out


def test_replayed_ack_and_command_change_nothing_after_reboots(tmp_path: Path) -> None:
    state = tmp_path / "state"
    gw = ScriptedGateway(KEY, server_time=T0)
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, CHANNELS, clock=CLOCK)
        # run 1: a COMMAND frame asks for a reboot (cmd 1); the ACK carries set_time (cmd 2)
        gw.command_frame({"cmd_id": 1, "name": "reboot", "params": {}})
        gw.ack_commands([{"cmd_id": 2, "name": "set_time", "params": {"time": T0 + 120}}])
        _ok(run_board(tmp_path, cfg, FEED, speed=2000, run_for=1800, port=gw.port,
                      state_dir=state, extra=["--clock-synced", "--follow-server-time", "1"]),
            code=75)
        # run 2, after the commanded reboot: 16 more commands push cmds 1 and 2 out of the
        # board's cmd_id memory
        gw.ack_commands([{"cmd_id": i, "name": "set_threshold",
                          "params": {"channel": 1, "kind": 0, "value": i}}
                         for i in range(3, 19)])
        _ok(run_board(tmp_path, cfg, FEED, speed=2000, run_for=1200, port=gw.port,
                      state_dir=state, extra=["--start", str(T0 + 1800), "--clock-synced",
                                              "--follow-server-time", "1"]))
        captured = list(gw.sent)
        assert gw.results(1) and gw.results(2) and gw.results(18)
        assert [r["status"] for r in gw.results(2)] == ["ok"]
        # run 3, ten days later: every captured frame is replayed on every connection,
        # ahead of the fresh ACKs (server_time now LATER); one new command must still run
        gw.server_time = LATER
        gw.replay = b"".join(captured)
        gw.ack_commands([{"cmd_id": 19, "name": "set_threshold",
                          "params": {"channel": 1, "kind": 0, "value": 7}}])
        before = len(gw.frames)
        out = _ok(run_board(tmp_path, cfg, FEED, speed=2000, run_for=2 * 3600,
                            port=gw.port, state_dir=state,
                            extra=["--start", str(LATER), "--clock-synced",
                                   "--follow-server-time", "1"]))
    finally:
        gw.close()
    assert "replay dropped" in out
    assert "@drained depth=0" in out  # the fresh ACKs were honoured: the queue emptied
    # no command ran twice: one result each (a second run would be a new frame)
    assert len(gw.results(1)) == 1 and len(gw.results(2)) == 1
    assert [r["status"] for r in gw.results(19)] == ["ok"]
    # the clock stayed ten days on: no correction, and run 3's readings start at LATER
    new = gw.frames[before:]
    clock_sets = [e for f in new if f["type"] == "event" for e in f["events"]
                  if e["code"] == "clock_set"]
    assert clock_sets == []
    hello = [f for f in new if f["type"] == "hello"]
    assert len(hello) == 1 and hello[0]["time"] == LATER
    # hourly gas intervals: the one open when run 2 ended (start T0) closes at boot, then
    # [LATER, LATER + 1 h) closes inside the 2-hour run; none starts in between
    assert {s for s, _, _ in readings(new, 1)} == {T0, LATER}


def test_a_new_key_starts_a_new_downlink_counter(tmp_path: Path) -> None:
    """Re-keyed (provisioning writes a new key): the floor kept for the old key must not make
    the board drop a gateway whose counter for the new key starts low."""
    state = tmp_path / "state"
    gw = ScriptedGateway(KEY, server_time=T0)
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, CHANNELS, clock=CLOCK)
        for _ in range(20):  # a floor well above 1
            gw._down += 1
        _ok(run_board(tmp_path, cfg, FEED, speed=2000, run_for=1200, port=gw.port,
                      state_dir=state, extra=["--clock-synced"]))
    finally:
        gw.close()
    new_key = bytes(range(16, 32))
    gw2 = ScriptedGateway(new_key, server_time=T0)
    try:
        cfg = write_config(tmp_path / "cfg.json", gw2.port, CHANNELS, clock=CLOCK,
                           key=new_key.hex())
        gw2.ack_commands([{"cmd_id": 1, "name": "set_threshold",
                           "params": {"channel": 1, "kind": 0, "value": 5}}])
        out = _ok(run_board(tmp_path, cfg, FEED, speed=2000, run_for=1200, port=gw2.port,
                            state_dir=state, extra=["--start", str(T0 + 1800),
                                                    "--clock-synced"]))
    finally:
        gw2.close()
    assert "replay dropped" not in out
    assert "@drained depth=0" in out
    assert [r["status"] for r in gw2.results(1)] == ["ok"]


def test_bad_params_detail_is_the_index_of_the_parameter_at_fault(tmp_path: Path) -> None:
    """Expected details: the parameter's column in the table of PROTOCOL.md 5.6 (0..5), -1 when
    no single parameter is at fault."""
    cases = [  # (command, params, expected result)
        ("set_interval", {"channel": 1, "sample_s": 10}, ["bad_params", 0]),  # pulse channel
        ("set_interval", {"channel": 0, "sample_s": 0}, ["bad_params", 1]),
        ("set_interval", {"upload_s": 90000}, ["bad_params", 2]),
        ("set_calibration", {"channel": 0, "pf_milli": 1001}, ["bad_params", 4]),
        ("set_calibration", {"channel": 0, "pulse_ml": 5}, ["bad_params", 5]),  # CT channel
        ("set_calibration", {"channel": 1, "ct_ratio": 100}, ["bad_params", 1]),  # pulse
        ("set_calibration", {"channel": 0, "burden_mohm": 0}, ["bad_params", 2]),
        ("set_calibration", {"channel": 0}, ["bad_params", -1]),
        ("set_threshold", {"channel": 9, "kind": 0}, ["bad_params", 0]),  # no such channel
        ("set_threshold", {"channel": 0, "kind": 2}, ["bad_params", 1]),
        ("set_threshold", {"channel": 0, "value": -1}, ["bad_params", 2]),
        ("set_time", {"time": 0}, ["bad_params", 0]),
        ("resend", {"from_counter": 10, "to_counter": 5}, ["bad_params", 1]),
        ("set_threshold", {"channel": 0, "kind": 1, "value": 3}, ["ok", 0]),
    ]
    gw = ScriptedGateway(KEY, server_time=T0)
    chans = [{"id": 0, "type": "ct", "samples_per_cycle": 8, "cycles": 2,
              "sample_every_s": 10}, *CHANNELS]
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, chans, clock=CLOCK)
        gw.ack_commands([{"cmd_id": i + 1, "name": name, "params": params}
                         for i, (name, params, _) in enumerate(cases)])
        _ok(run_board(tmp_path, cfg, ["+0 ct 0 rms=2.0", *FEED], speed=2000, run_for=1200,
                      port=gw.port, extra=["--clock-synced"]))
    finally:
        gw.close()
    got = {}
    for i in range(len(cases)):
        res = gw.results(i + 1)
        got[i + 1] = [res[0]["status"], res[0]["detail"]] if len(res) == 1 else res
    assert got == {i + 1: want for i, (_, _, want) in enumerate(cases)}
