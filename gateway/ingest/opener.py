"""Open one uplink frame with its board's key: the current one, a re-read one, or the previous.

    opener = FrameOpener(keys, clock)
    opened = await opener.open(raw, header, first_frame=True)
    opened.rejected   # (reason, detail): not authentic under any key; the bytes are not a frame
    opened.error      # ProtocolError: authentic but to be dropped (malformed, old key refused)
    opened.message    # the decoded message dict, when neither of the above
    opened.key        # the board's current key: every reply is sealed with it
    opened.previous   # the PreviousKey that opened it (backlog from before a rotation), or None

Key rotation (docs/decisions/016-key-rotation-grace.md). After its key changed, a board still
sends the backlog it sealed with the old key, ahead of its first new-key frames. A frame the
current key does not open (even after re-reading the registry) is tried with the board's
previous key, which is accepted only within the grace period and only with a counter below the
lowest counter the board has used with its new key (its counter never goes back, so genuine
backlog is always below). A connection's first frame re-reads a key cached longer than the key
cache's miss TTL, so a board that reboots after a rotation is not answered with a stale key.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.ingest.keys import KeyCache
from gateway.registry import PreviousKey
from gateway.store.keybox import KeyBoxError
from protocol import codec
from protocol.errors import BadTag, Malformed, ProtocolError
from protocol.frame import Header

__all__ = ["FrameOpener", "OldKeyRefused", "Opened"]

_I64_MAX = (1 << 63) - 1


class OldKeyRefused(ProtocolError):
    """Authentic under the board's previous key, but that key may no longer open this frame.

    `failure`: whether it counts towards max_failures. A frame past the grace period is the
    board's own (not an attack signal): the connection stays open, so new-key frames behind it
    are still stored and acknowledged. A counter at or above the first new-key counter cannot
    come from the board (its counter never goes back): someone else holds the old key.
    """

    def __init__(self, reason: str, detail: str, *, failure: bool) -> None:
        super().__init__(detail)
        self.reason = reason
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Opened:
    key: bytes | None = None
    message: dict[str, Any] | None = None
    error: ProtocolError | None = None
    previous: PreviousKey | None = None
    rejected: tuple[str, str] | None = None


class FrameOpener:
    """Authenticates and decodes frames for the ingest connections (shares the key cache)."""

    def __init__(self, keys: KeyCache, clock: Callable[[], float]) -> None:
        self.keys = keys
        self.clock = clock

    async def open(self, raw: bytes, h: Header, *, first_frame: bool) -> Opened:
        try:
            key = await self.keys.get(h.device_id, max_age_s=self.keys.miss_ttl_s
                                      if first_frame else None)
        except KeyBoxError as exc:
            return Opened(rejected=("key_unreadable", str(exc)))
        if key is None:
            return Opened(rejected=("unknown_device", "no such device in the registry"))
        tried = [key]
        try:
            msg = codec.decode(raw, key)
        except BadTag as exc:
            fresh = await self._reread(h.device_id)
            if fresh is None or fresh == key:
                return self._previous(raw, h, key, tried, exc.detail)
            key = fresh  # the key was changed in the registry: try the new one
            tried.append(key)
            try:
                msg = codec.decode(raw, key)
            except BadTag as exc2:
                return self._previous(raw, h, key, tried, exc2.detail)
            except ProtocolError as exc2:
                return Opened(key=key, error=exc2)
        except ProtocolError as exc:
            return Opened(key=key, error=exc)
        await self.keys.note_new_key_counter(h.device_id, h.counter, key)
        return _checked(msg, key, None)

    async def _reread(self, device_id: int) -> bytes | None:
        try:
            return await self.keys.refresh(device_id)
        except KeyBoxError:
            return None

    def _previous(self, raw: bytes, h: Header, key: bytes, tried: list[bytes],
                  bad_tag: str) -> Opened:
        """Try the board's previous key on a frame its current key does not open."""
        prev = self.keys.previous(h.device_id)
        if prev is None or any(hmac.compare_digest(prev.key, k) for k in tried):
            return Opened(key=key, rejected=("bad_tag", bad_tag))
        try:
            msg: dict[str, Any] | ProtocolError = codec.decode(raw, prev.key)
        except BadTag:
            return Opened(key=key, rejected=("bad_tag", bad_tag))
        except ProtocolError as exc:
            msg = exc  # authentic under the old key, but malformed: the limits come first
        grace = self.keys.previous_key_grace_s
        age = self.clock() - prev.rotated_at
        if age > grace:
            return Opened(key=key, error=OldKeyRefused(
                "old_key_expired", f"sealed with the key replaced {age / 86400:.1f} days ago; "
                f"accepted for {grace / 86400:g} days", failure=False))
        first = prev.first_new_counter
        if first is not None and h.counter >= first:
            return Opened(key=key, error=OldKeyRefused(
                "old_key_counter", f"sealed with the replaced key, counter {h.counter} is not "
                f"below {first}, the first counter under the new key", failure=True))
        if isinstance(msg, ProtocolError):
            return Opened(key=key, error=msg)
        return _checked(msg, key, prev)


def _checked(msg: dict[str, Any], key: bytes, prev: PreviousKey | None) -> Opened:
    for block in msg.get("blocks", ()):
        if any(r > _I64_MAX for r in block["registers"]):
            return Opened(key=key, error=Malformed(
                f"readings: channel {block['channel']}: a register is above 2^63-1, the "
                "largest value the gateway stores"))
    return Opened(key=key, message=msg, previous=prev)
