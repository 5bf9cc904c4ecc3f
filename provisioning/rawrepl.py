"""The MicroPython raw REPL over a serial port: enter, execute (raw-paste with flow control), exit.

The same protocol as micropython's `tools/pyboard.py` / mpremote's `transport_serial.py`:
Ctrl-C interrupts, Ctrl-A enters the raw REPL (prompt ``raw REPL; CTRL-B to exit\\r\\n>``),
``\\x05A\\x01`` asks for raw-paste mode (answer ``R\\x01`` + window size, ``R\\x00`` if not
supported), code ends with Ctrl-D, the board answers stdout ``\\x04`` stderr ``\\x04>``.
"""

from __future__ import annotations

import struct
import time
from typing import Protocol

from provisioning.errors import BoardExecError, BoardNotMicroPython
from provisioning.port_guard import GuardedPort

__all__ = ["RawRepl", "SerialLike"]

_RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n>"
_CTRL_A, _CTRL_B, _CTRL_C, _CTRL_D = b"\x01", b"\x02", b"\x03", b"\x04"


class SerialLike(Protocol):
    """The part of `serial.Serial` used here (tests may pass any object with these)."""

    port: str | None

    def read(self, size: int = 1) -> bytes: ...
    def write(self, data: bytes) -> int | None: ...
    def reset_input_buffer(self) -> None: ...
    @property
    def in_waiting(self) -> int: ...


class RawRepl:
    """Drive one board's raw REPL; `noise` keeps what the board printed outside of commands."""

    def __init__(self, ser: SerialLike, *, timeout_s: float = 10.0) -> None:
        # Every port I/O goes through the guard: a vanished board is a BoardLost, not a trace.
        self.ser: SerialLike = ser if isinstance(ser, GuardedPort) else GuardedPort(ser)
        self.timeout_s = timeout_s
        self.noise = bytearray()
        self.in_raw = False
        self.raw_paste: bool | None = None  # unknown until the first exec
        self._rx = bytearray()  # read from the port, not consumed yet

    @property
    def where(self) -> str:
        return str(getattr(self.ser, "port", "") or "serial")

    def read_until(self, marker: bytes, timeout_s: float | None = None) -> bytes:
        """Bytes up to and including `marker`; BoardNotMicroPython on timeout."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while (i := self._rx.find(marker)) < 0:
            if time.monotonic() > deadline:
                raise BoardNotMicroPython(
                    f"no answer {marker!r} from the board", where=self.where,
                    why=f"last bytes seen: {bytes(self._rx[-80:])!r}",
                    todo="check that the board runs MicroPython and the cable carries data")
            self._fill()
        end = i + len(marker)
        out = bytes(self._rx[:end])
        del self._rx[:end]
        return out

    def _fill(self) -> None:
        chunk = self.ser.read(max(1, min(self.ser.in_waiting, 4096)))
        if chunk:
            self._rx += chunk

    def _pending(self) -> bool:
        return bool(self._rx) or bool(self.ser.in_waiting)

    def interrupt(self, *, tries: int = 1, gap_s: float = 0.1) -> None:
        """Ctrl-C `tries` times: stops a running program (or an app in its boot window)."""
        for _ in range(tries):
            self.ser.write(b"\r" + _CTRL_C)
            time.sleep(gap_s)
        self._drain()

    def _drain(self) -> None:
        while self.ser.in_waiting:
            self._rx += self.ser.read(self.ser.in_waiting)
        self.noise += self._rx
        self._rx.clear()

    def enter(self, *, timeout_s: float = 6.0) -> None:
        """Enter the raw REPL from whatever state the board is in (prompt, program, raw REPL).

        Ctrl-C is repeated until the raw prompt appears, so a board that is booting is caught
        in its provisioning window, before its app arms the watchdog.
        """
        deadline = time.monotonic() + timeout_s
        last = ""
        while True:
            self.ser.write(b"\r" + _CTRL_C + _CTRL_C)
            time.sleep(0.1)
            self._drain()
            self.ser.write(b"\r" + _CTRL_A)
            try:
                self.noise += self.read_until(_RAW_PROMPT, 0.4)
                break
            except BoardNotMicroPython as exc:
                last = exc.why
            if time.monotonic() > deadline:
                raise BoardNotMicroPython(
                    "the board does not answer like MicroPython", where=self.where, why=last,
                    todo="flash MicroPython first (see docs/INSTALLER.md), or pick the right "
                         "port; a board stuck in its bootloader needs its RESET button")
        self.in_raw = True

    def exit(self) -> None:
        """Back to the friendly REPL (Ctrl-B)."""
        self.ser.write(b"\r" + _CTRL_B)
        self.in_raw = False

    def exec(self, code: str | bytes, *, timeout_s: float | None = None) -> bytes:
        """Run `code` on the board, return its stdout; BoardExecError with its traceback."""
        if not self.in_raw:
            self.enter()
        data = code.encode() if isinstance(code, str) else code
        if self.raw_paste is not False:
            self.ser.write(b"\x05A\x01")
            answer = self._read_exact(2)
            if answer == b"R\x01":
                self.raw_paste = True
                self._paste(data)
            elif answer == b"R\x00":
                self.raw_paste = False  # understood, not supported: plain raw REPL below
                self._plain(data)
            else:
                # A board without raw-paste echoes the bytes: resync on the raw prompt.
                self.raw_paste = False
                self.read_until(_RAW_PROMPT)
                self._plain(data)
        else:
            self._plain(data)
        out = self.read_until(_CTRL_D, timeout_s)[:-1]
        err = self.read_until(_CTRL_D, timeout_s)[:-1]
        self.read_until(b">", timeout_s)
        if err:
            text = err.decode(errors="replace").replace("\r\n", "\n").strip()
            raise BoardExecError("code run on the board failed", where=self.where,
                                 why=text.splitlines()[-1] if text else "", traceback=text,
                                 todo="see the traceback; re-run with a board that is not "
                                      "running another program")
        return out.replace(b"\r\n", b"\n")

    def _read_exact(self, n: int) -> bytes:
        deadline = time.monotonic() + self.timeout_s
        while len(self._rx) < n:
            if time.monotonic() > deadline:
                raise BoardNotMicroPython("the board stopped answering", where=self.where,
                                          why=f"waited for {n} bytes, got {bytes(self._rx)!r}",
                                          todo="unplug and replug the board, then retry")
            self._fill()
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    def _paste(self, data: bytes) -> None:
        """Raw-paste: send at most `window` bytes until the board grants more with \\x01."""
        window = struct.unpack("<H", self._read_exact(2))[0]
        remain = window
        i = 0
        while i < len(data):
            while remain == 0 or self._pending():
                b = self._read_exact(1)
                if b == b"\x01":
                    remain += window
                elif b == _CTRL_D:
                    # The board aborts (e.g. a syntax error was found while compiling).
                    self.ser.write(_CTRL_D)
                    return
                else:
                    raise BoardNotMicroPython(f"unexpected {b!r} during raw-paste",
                                              where=self.where, todo="retry")
            n = min(remain, len(data) - i)
            self.ser.write(data[i:i + n])
            i += n
            remain -= n
        self.ser.write(_CTRL_D)
        self.read_until(_CTRL_D)  # the board acknowledges the end of the code

    def _plain(self, data: bytes) -> None:
        for i in range(0, len(data), 256):
            self.ser.write(data[i:i + 256])
            time.sleep(0.01)
        self.ser.write(_CTRL_D)
        ok = self._read_exact(2)
        if ok != b"OK":
            raise BoardNotMicroPython(f"raw REPL answered {ok!r} instead of OK",
                                      where=self.where, todo="retry; replug the board")
