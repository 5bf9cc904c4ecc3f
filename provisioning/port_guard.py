"""A serial port whose I/O failures become `BoardLost`: what an installer sees when a cable goes.

pyserial raises `serial.SerialException` (an `OSError`) or plain `OSError` (EIO, ENXIO) once
the USB device disappears; without this, a traceback would be all the installer gets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from provisioning.errors import BoardLost

if TYPE_CHECKING:
    from provisioning.rawrepl import SerialLike

__all__ = ["GuardedPort"]

T = TypeVar("T")

_TODO = ("check the USB cable and plug the board back in (a data cable, firmly seated), "
         "then run the same command again")


class GuardedPort:
    """Wraps a `SerialLike`; the same methods, with OSErrors turned into `BoardLost`."""

    def __init__(self, ser: SerialLike) -> None:
        self.inner = ser

    @property
    def port(self) -> str | None:
        return getattr(self.inner, "port", None)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except OSError as exc:
            raise BoardLost(f"the board disappeared while {what}",
                            where=str(self.port or "serial"), why=str(exc),
                            todo=_TODO) from None

    def read(self, size: int = 1) -> bytes:
        return self._call("reading from it", lambda: self.inner.read(size))

    def write(self, data: bytes) -> int | None:
        return self._call("writing to it", lambda: self.inner.write(data))

    def reset_input_buffer(self) -> None:
        self._call("clearing its input", self.inner.reset_input_buffer)

    @property
    def in_waiting(self) -> int:
        return self._call("reading from it", lambda: int(self.inner.in_waiting))
