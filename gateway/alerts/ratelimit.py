"""Per-recipient e-mail rate limit: at most N messages in a sliding window, then a digest.

Whatever does not fit is remembered (a short summary per alert) and goes out as ONE digest
e-mail as soon as the window has room again; the digest counts as a message. The state is
plain JSON so it survives restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Limiter", "RateLimits"]

MAX_SUPPRESSED = 500   # a digest lists at most this many; the rest are only counted


@dataclass(slots=True)
class Limiter:
    """One recipient's sliding window (epoch seconds of sent messages) and pending digest."""

    max_messages: int
    window_s: int
    sent: list[float] = field(default_factory=list)
    suppressed: list[dict[str, Any]] = field(default_factory=list)
    overflow: int = 0

    def _prune(self, now: float) -> None:
        self.sent = [t for t in self.sent if t > now - self.window_s]

    def allow(self, now: float) -> bool:
        """True if one more message fits in the window at `now`."""
        self._prune(now)
        return len(self.sent) < self.max_messages

    def record(self, now: float) -> None:
        self.sent.append(now)

    def suppress(self, item: dict[str, Any]) -> None:
        if len(self.suppressed) < MAX_SUPPRESSED:
            self.suppressed.append(item)
        else:
            self.overflow += 1

    def take_digest(self, now: float) -> tuple[list[dict[str, Any]], int] | None:
        """The suppressed items and overflow count if a digest may go out now (and reset)."""
        if not (self.suppressed or self.overflow) or not self.allow(now):
            return None
        items, extra = self.suppressed, self.overflow
        self.suppressed, self.overflow = [], 0
        self.record(now)
        return items, extra


class RateLimits:
    """Limiters by recipient name; `to_json`/`load` for persistence."""

    def __init__(self) -> None:
        self.by_recipient: dict[str, Limiter] = {}

    def get(self, name: str, max_messages: int, window_s: int) -> Limiter:
        lim = self.by_recipient.get(name)
        if lim is None:
            lim = self.by_recipient[name] = Limiter(max_messages, window_s)
        lim.max_messages, lim.window_s = max_messages, window_s  # config may have changed
        return lim

    def to_json(self) -> dict[str, Any]:
        return {name: {"sent": lim.sent, "suppressed": lim.suppressed,
                       "overflow": lim.overflow, "max_messages": lim.max_messages,
                       "window_s": lim.window_s}
                for name, lim in self.by_recipient.items()}

    def load(self, doc: dict[str, Any] | None) -> None:
        for name, d in (doc or {}).items():
            self.by_recipient[name] = Limiter(int(d["max_messages"]), int(d["window_s"]),
                                              list(d["sent"]), list(d["suppressed"]),
                                              int(d.get("overflow", 0)))
