"""`provision device` without --channel on a terminal: the questions, typed answers, re-asks.

The command runs in a child process whose stdin/stdout are a pseudo-terminal, as when an
installer types into it; every answer is sent only once its question has appeared.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import Gateway
from tests.support.micropython import REPO

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """The installer's side of a pty: wait for text, type a line."""

    def __init__(self, proc: subprocess.Popen[bytes], master: int) -> None:
        self.proc = proc
        self.master = master
        self.seen = b""
        self._pos = 0

    def expect(self, text: str, timeout_s: float = 60.0) -> None:
        want = text.encode()
        deadline = time.monotonic() + timeout_s
        while want not in self.seen[self._pos:]:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} not shown; screen:\n{self.screen()}"
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                assert chunk, f"{text!r} not shown before exit; screen:\n{self.screen()}"
                self.seen += _ANSI.sub(b"", chunk)
        self._pos = self.seen.index(want, self._pos) + len(want)

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def screen(self) -> str:
        return self.seen.decode(errors="replace")

    def rest(self, timeout_s: float = 120.0) -> str:
        deadline = time.monotonic() + timeout_s
        while self.proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    self.seen += _ANSI.sub(b"", os.read(self.master, 4096))
                except OSError:
                    break
        self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        return self.screen()


def _start(argv: list[str]) -> Terminal:
    master, slave = os.openpty()
    env = dict(os.environ, METERKIT_LANG="en", COLUMNS="200", TERM="dumb")
    proc = subprocess.Popen([sys.executable, "-m", "meterkit", *argv], stdin=slave,
                            stdout=slave, stderr=slave, cwd=REPO, env=env, close_fds=True)
    os.close(slave)
    return Terminal(proc, master)


def test_questions_with_validation_and_a_custom_clamp(board: VirtualBoard, gateway: Gateway,
                                                      tmp_path: Path) -> None:
    from gateway.registry import get_device

    term = _start(["provision", "device", "--port", board.port, "--target", "unix",
                   "--gateway-config", str(gateway.config), "--gateway-host", "127.0.0.1",
                   "--gateway-port", str(gateway.port), "--id", "0000f001", "--no-reboot",
                   "--label-dir", str(tmp_path / "labels")])
    try:
        term.expect("sites on this gateway / siti del gateway: genova, lodi")
        term.expect("site / sito")
        term.type("milano")                              # not configured: asked again
        term.expect("site 'milano' is not configured on this gateway")
        term.expect("site / sito")
        term.type("genova")
        term.expect("building / edificio")
        term.type("palestra")
        term.expect("CT clamp model on channel 0")
        term.type("custom")
        term.expect("CT ratio")
        term.type("two thousand")                        # not a number: the channel again
        term.expect("burden resistor")
        term.type("33")
        term.expect("nominal voltage")
        term.type("230")
        term.expect("ratio='two thousand' is not a number")
        term.expect("CT clamp model on channel 0")
        term.type("custom")
        term.expect("CT ratio")
        term.type("2000")
        term.expect("burden resistor")
        term.type("")                                    # the default, 33 Ω on the board
        term.expect("nominal voltage")
        term.type("400")
        term.expect("gas litres per pulse on channel 1")
        term.type("-3")                                  # out of range: asked again
        term.expect("is outside 0.001..1000 L")
        term.expect("gas litres per pulse on channel 1")
        term.type("100")
        screen = term.rest()
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)
    assert term.proc.returncode == 0, screen
    assert "Traceback" not in screen
    device = gateway.query(lambda c: get_device(c, "0000f001"))
    assert device.site == "genova"
    assert device.channels["0"]["ct_model"] == "custom"
    assert device.channels["0"]["ct_ratio"] == 2000 and device.channels["0"]["burden_ohm"] == 33
    assert device.channels["0"]["nominal_v"] == 400
    assert device.channels["0"]["building"] == "palestra"
    assert device.channels["1"]["litres_per_pulse"] == 100
    # The board got the same settings.
    cfg = json.loads((board.root / "config.json").read_text())
    by_id = {c["id"]: c for c in cfg["channels"]}
    assert by_id[0]["ct_ratio"] == 2000 and by_id[0]["burden_ohm"] == 33
    assert by_id[1]["litres_per_pulse"] == 100
    label = (tmp_path / "labels" / "label-0000f001.txt").read_text()
    assert "building/edificio: palestra" in label and "site: genova" in label
