"""One board on a serial port: open it, catch its provisioning window, probe, write files safely.

Files are written to `<path>.new`, their sha256 is computed on the board with `hashlib`, and
only a matching file is renamed over `<path>`; a mismatch leaves the old file in place.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import json
import time
from dataclasses import dataclass
from types import TracebackType

from provisioning.errors import (
    BoardExecError,
    BoardNotMicroPython,
    PortBusy,
    PortMissing,
    ProvisioningError,
    VerificationMismatch,
)
from provisioning.rawrepl import RawRepl, SerialLike

__all__ = ["Board", "BoardInfo", "open_serial"]

_CHUNK = 1536  # raw bytes per write command: small enough for an ESP32 heap, few round trips

_PROBE = """\
import sys, os, json
r = {"impl": sys.implementation.name, "ver": list(sys.implementation.version[:3]),
     "platform": sys.platform, "app": "firmware.app" in sys.modules, "fw": None}
try:
    import hashlib
    r["sha256"] = hasattr(hashlib, "sha256")
except ImportError:
    r["sha256"] = False
try:
    s = os.statvfs(".")
    r["free"] = s[0] * s[3]
except (OSError, AttributeError):
    r["free"] = -1
try:
    with open("firmware/app.py") as f:
        for ln in f:
            if ln.startswith("FW_VERSION"):
                r["fw"] = ln.split("=", 1)[1].strip()
                break
except OSError:
    pass
try:
    os.stat("config.json")
    r["config"] = True
except OSError:
    r["config"] = False
print(json.dumps(r))
"""

_HASH = """\
import hashlib, binascii
def _mk_sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as g:
        while True:
            b = g.read(512)
            if not b:
                break
            h.update(b)
    return binascii.hexlify(h.digest()).decode()
"""


@dataclass(frozen=True, slots=True)
class BoardInfo:
    """What the probe found on the board."""

    implementation: str
    version: tuple[int, ...]
    platform: str
    app_was_running: bool
    firmware: tuple[int, ...] | None
    has_sha256: bool
    free_bytes: int
    has_config: bool


def open_serial(port: str, baud: int = 115200) -> SerialLike:
    """Open `port` exclusively; PortMissing / PortBusy say what to do about it."""
    import serial

    try:
        return serial.Serial(port, baud, timeout=0.05, exclusive=True)
    except serial.SerialException as exc:
        err = getattr(exc, "errno", None)
        text = str(exc)
        if err in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "No such file" in text:
            raise PortMissing("serial port not found", where=port, why=text,
                              todo="plug the USB cable in (a data cable, not charge-only), "
                                   "then list ports with `meterkit provision ports`") from None
        if err in (errno.EAGAIN, errno.EBUSY) or "exclusively lock" in text:
            raise PortBusy("serial port in use by another program", where=port, why=text,
                           todo="close serial monitors, IDEs (Thonny) and mpremote, then "
                                "retry") from None
        if err == errno.EACCES:
            raise PortBusy("no permission to open the serial port", where=port, why=text,
                           todo="add yourself to the 'dialout' group and log in again") from None
        raise ProvisioningError("cannot open serial port", where=port, why=text,
                                todo="replug the board and retry") from None


def _version(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        return tuple(int(x) for x in text.strip("()[] ").split(",") if x.strip())
    except ValueError:
        return None


class Board:
    """A MicroPython board reached over its raw REPL (see the module docstring)."""

    def __init__(self, ser: SerialLike, *, timeout_s: float = 10.0,
                 window_s: float = 8.0) -> None:
        self.repl = RawRepl(ser, timeout_s=timeout_s)
        self.ser = ser
        self.window_s = window_s
        self.resets = 0
        self._hash_ready = False

    @classmethod
    def open(cls, port: str, *, baud: int = 115200, timeout_s: float = 10.0) -> Board:
        return cls(open_serial(port, baud), timeout_s=timeout_s)

    @property
    def where(self) -> str:
        return self.repl.where

    def close(self) -> None:
        close = getattr(self.ser, "close", None)
        if close is not None:
            # A board already gone: the error that matters was raised before this.
            with contextlib.suppress(OSError):
                close()

    def __enter__(self) -> Board:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- session --------------------------------------------------------------------------------
    def connect(self) -> BoardInfo:
        """Enter the raw REPL; an app that was running (its watchdog may be armed) is reset
        and the board caught again in its boot window, before the watchdog starts."""
        self.repl.enter(timeout_s=self.window_s)
        info = self.probe()
        if info.app_was_running:
            self.reset()
            self.repl.enter(timeout_s=self.window_s)
            info = self.probe()
            if info.app_was_running:
                raise BoardNotMicroPython(
                    "the board's app could not be stopped before its watchdog starts",
                    where=self.where, why="the board has no provisioning window at boot",
                    todo="hold the board's BOOT/reset, release it and run the command at once; "
                         "update the firmware (docs/decisions/013-provisioning.md)")
        if not info.has_sha256:
            raise BoardNotMicroPython("this MicroPython build has no hashlib.sha256",
                                      where=self.where, why="files could not be verified",
                                      todo="flash a standard MicroPython build (1.22 or later, "
                                           "docs/FIRMWARE.md)")
        return info

    def probe(self) -> BoardInfo:
        r = self._json(self.repl.exec(_PROBE))
        return BoardInfo(
            implementation=str(r.get("impl")), version=tuple(r.get("ver") or ()),
            platform=str(r.get("platform")), app_was_running=bool(r.get("app")),
            firmware=_version(r.get("fw")), has_sha256=bool(r.get("sha256")),
            free_bytes=int(r.get("free", -1)), has_config=bool(r.get("config")))

    def reset(self) -> None:
        """Hard reset (machine.reset); on the unix port SystemExit ends the process (a reboot)."""
        self.repl.ser.write(b"import machine\r\nif hasattr(machine, 'reset'):\r\n"
                            b"    machine.reset()\r\nraise SystemExit\r\n\x04")
        self.repl.in_raw = False
        self.resets += 1
        time.sleep(0.2)

    def run(self, code: str, *, timeout_s: float | None = None) -> str:
        return self.repl.exec(code, timeout_s=timeout_s).decode(errors="replace")

    @staticmethod
    def _json(out: bytes | str) -> dict[str, object]:
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        for line in reversed(text.strip().splitlines()):
            if line.startswith("{"):
                data = json.loads(line)
                if isinstance(data, dict):
                    return data
        raise BoardExecError("the board's answer is not JSON", why=text[-200:],
                             todo="retry; if it repeats, reflash MicroPython")

    # -- files ----------------------------------------------------------------------------------
    def _mkdirs(self, path: str) -> None:
        parts = path.split("/")[:-1]
        if not parts:
            return
        dirs = ["/".join(parts[:i + 1]) for i in range(len(parts))]
        self.run(f"import os\nfor d in {dirs!r}:\n    try:\n        os.mkdir(d)\n"
                 "    except OSError:\n        pass\n")

    def sha256(self, path: str) -> str | None:
        """The sha256 of a file on the board, or None if it does not exist."""
        if not self._hash_ready:
            self.run(_HASH)
            self._hash_ready = True
        out = self.run(f"try:\n    print(_mk_sha({path!r}))\nexcept OSError:\n    print('-')\n")
        value = out.strip().splitlines()[-1] if out.strip() else "-"
        return None if value == "-" else value

    def put_file(self, path: str, data: bytes) -> str:
        """Write `data` to `path` through `path.new`, verify its sha256, rename; return the hash."""
        want = hashlib.sha256(data).hexdigest()
        tmp = path + ".new"
        self._mkdirs(path)
        self.run(f"from binascii import a2b_base64 as _mk_a\n_mk_f = open({tmp!r}, 'wb')\n")
        for i in range(0, len(data), _CHUNK):
            b64 = base64.b64encode(data[i:i + _CHUNK]).decode()
            self.run(f"_mk_f.write(_mk_a({b64!r}))\n")
        self.run("_mk_f.close()\n")
        got = self.sha256(tmp)
        if got != want:
            self.run(f"import os\ntry:\n    os.remove({tmp!r})\nexcept OSError:\n    pass\n")
            raise VerificationMismatch(
                "file written to the board does not match", where=f"{self.where}:{path}",
                why=f"sha256 on the board {got}, sent {want}", expected=want, got=got or "-",
                todo="the old file was kept; check the USB cable (try a shorter one) and retry")
        self.run(f"import os\ntry:\n    os.rename({tmp!r}, {path!r})\nexcept OSError:\n"
                 f"    os.remove({path!r})\n    os.rename({tmp!r}, {path!r})\n")
        return want

    def read_file(self, path: str) -> bytes | None:
        """A (small) file's bytes, or None if it is missing."""
        out = self.run(f"import binascii\ntry:\n    with open({path!r}, 'rb') as g:\n"
                       "        print(binascii.b2a_base64(g.read()).decode().strip())\n"
                       "except OSError:\n    print('-')\n").strip()
        return None if out == "-" else base64.b64decode(out)

    def remove(self, path: str) -> bool:
        out = self.run(f"import os\ntry:\n    os.remove({path!r})\n    print(1)\nexcept OSError:\n"
                       "    print(0)\n")
        return out.strip().endswith("1")
