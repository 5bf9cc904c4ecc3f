"""The uplink's exceptions: what failed, against which broker, and what to do about it."""

from __future__ import annotations

__all__ = ["BrokerRefused", "BrokerUnreachable", "UplinkError"]


class UplinkError(Exception):
    """Base class; `broker` is ``host:port``, `hint` says what an operator can do."""

    def __init__(self, message: str, *, broker: str, hint: str = "") -> None:
        super().__init__(f"{broker}: {message}" + (f" ({hint})" if hint else ""))
        self.broker = broker
        self.hint = hint


class BrokerUnreachable(UplinkError):
    """TCP or TLS connection failed (network down, broker down, certificate problem)."""


class BrokerRefused(UplinkError):
    """The broker answered CONNACK with a refusal; `reason` is its reason string."""

    def __init__(self, message: str, *, broker: str, reason: str, hint: str = "") -> None:
        super().__init__(message, broker=broker, hint=hint)
        self.reason = reason
