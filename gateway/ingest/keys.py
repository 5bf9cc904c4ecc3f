"""In-memory device-key cache for ingest: one registry read per device, negative entries expire.

    keys = KeyCache(db, box, *, miss_ttl_s=5.0, hit_ttl_s=60.0, clock=time.monotonic,
                    previous_key_grace_s=PREVIOUS_KEY_GRACE_S)
    await keys.load()                      # warm with every registered key; returns the count
                                           # (IngestServer.start() calls it if nobody did)
    key = await keys.get(0x0000a1b2)       # bytes | None (unknown device)
    key = await keys.get(0x0000a1b2, max_age_s=5.0)   # re-read if cached longer than that
    key = await keys.refresh(0x0000a1b2)   # re-read after a bad tag (key changed by the CLI)
    prev = keys.previous(0x0000a1b2)       # PreviousKey | None: the key before the last change
    await keys.note_new_key_counter(0x0000a1b2, counter, key)   # a frame opened with `key`

Unknown ids are remembered for `miss_ttl_s`, so a flood of frames from an unregistered board
costs one database read per TTL, and a board added with ``meterkit gateway devices add`` in
another process is picked up within that TTL. Known keys are re-read after `hit_ttl_s`, so a
removed board stops being served and a replaced key is used within that time (a bad tag also
triggers an early re-read). Keys are never logged or put in a repr.

Previous keys (docs/decisions/016-key-rotation-grace.md) are read together with the current
key, so both always come from the same registry state. The cache only holds them; the ingest
connection decides whether one may still open a frame: within `previous_key_grace_s` of the key
change, and below the counter limit: the board's reserved counter limit when provisioning read
it at the change (if known), lowered to the lowest counter seen under the current key, which
:meth:`note_new_key_counter` records here and in the registry (so it survives a restart).
A previous key dropped from the registry (`forget_previous_key`) is dropped here on the next
re-read: an old-key frame forces one (at most once per `miss_ttl_s` per board), otherwise
after `hit_ttl_s`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
import sqlite3
import time
from collections.abc import Callable

from gateway.registry import (
    PreviousKey,
    all_device_keys,
    all_previous_keys,
    format_device_id,
    get_device_keys,
    note_new_key_counter,
)
from gateway.store.db import Database, StorageError
from gateway.store.keybox import KeyBox

__all__ = ["PREVIOUS_KEY_GRACE_S", "KeyCache"]

_MAX_MISSES = 10_000

# How long after a key change frames sealed with the previous key are still accepted: the
# longest a board's flash queue may plausibly hold frames sealed before its key changed
# (weeks without a link). The default of `[ingest] previous_key_days` (gateway/service.py
# passes it as `previous_key_grace_s`; docs/decisions/016-key-rotation-grace.md).
PREVIOUS_KEY_GRACE_S = 30 * 86400

log = logging.getLogger("gateway.ingest")


class KeyCache:
    """Device id (uint32) → 16-byte key, backed by the registry."""

    def __init__(self, db: Database, box: KeyBox, *, miss_ttl_s: float = 5.0,
                 hit_ttl_s: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 previous_key_grace_s: float = PREVIOUS_KEY_GRACE_S) -> None:
        self.db = db
        self.box = box
        self.miss_ttl_s = miss_ttl_s
        self.hit_ttl_s = hit_ttl_s
        self.clock = clock
        self.previous_key_grace_s = previous_key_grace_s
        self._keys: dict[int, bytes] = {}
        self._previous: dict[int, PreviousKey] = {}  # only while the device's key is cached
        self._loaded: dict[int, float] = {}      # id -> monotonic time the key was read
        self._misses: dict[int, float] = {}      # id -> monotonic time of the failed lookup
        self._refreshed: dict[int, float] = {}   # id -> monotonic time of the last refresh
        self._inflight: dict[int, asyncio.Future[bytes | None]] = {}
        self.loaded = False

    def __repr__(self) -> str:
        return f"KeyCache({len(self._keys)} keys)"

    async def load(self) -> int:
        """Read every board key from the registry; return how many there are."""
        keys, previous = await self.db.read(
            lambda conn: (all_device_keys(conn, self.box), all_previous_keys(conn, self.box)))
        now = self.clock()
        self._keys = {int(did, 16): key for did, key in keys.items()}
        self._previous = {int(did, 16): p for did, p in previous.items()
                          if int(did, 16) in self._keys}
        self._loaded = dict.fromkeys(self._keys, now)
        self._misses.clear()
        self.loaded = True
        return len(self._keys)

    def invalidate(self, device_id: int | None = None) -> None:
        """Forget one device's key (or all); the next get() reads the registry again."""
        if device_id is None:
            self._keys.clear()
            self._previous.clear()
            self._misses.clear()
        else:
            self._keys.pop(device_id, None)
            self._previous.pop(device_id, None)
            self._loaded.pop(device_id, None)
            self._misses.pop(device_id, None)

    async def get(self, device_id: int, *, max_age_s: float | None = None) -> bytes | None:
        """The key of a board, or None if it is not registered (cached for miss_ttl_s).

        `max_age_s` re-reads a key cached longer than that (instead of hit_ttl_s): ingest uses
        it for a connection's first frame, which after a key rotation is the rebooted board's.
        """
        key = self._keys.get(device_id)
        ttl = self.hit_ttl_s if max_age_s is None else min(self.hit_ttl_s, max_age_s)
        if key is not None and self.clock() - self._loaded.get(device_id, 0.0) < ttl:
            return key
        missed = self._misses.get(device_id)
        if missed is not None and self.clock() - missed < self.miss_ttl_s:
            return None
        return await self._lookup(device_id)

    async def refresh(self, device_id: int) -> bytes | None:
        """Re-read a key after it failed to authenticate; at most once per miss_ttl_s."""
        last = self._refreshed.get(device_id)
        now = self.clock()
        if last is not None and now - last < self.miss_ttl_s:
            return self._keys.get(device_id)
        self._refreshed[device_id] = now
        if len(self._refreshed) > _MAX_MISSES:
            self._refreshed.clear()
        return await self._lookup(device_id)

    def previous(self, device_id: int) -> PreviousKey | None:
        """The board's previous key as last read with its current key (None: none kept).

        Whether it may still open a frame (grace period, counter limit) is the caller's call.
        """
        return self._previous.get(device_id)

    async def note_new_key_counter(self, device_id: int, counter: int, key: bytes) -> None:
        """A frame with `counter` opened with `key`: if that is the current key of a board
        whose previous key is kept, old-key frames are from now on only accepted below the
        lowest such counter. Remembered here at once, in the registry before returning."""
        prev = self._previous.get(device_id)
        if prev is None or (prev.first_new_counter is not None
                            and counter >= prev.first_new_counter):
            return
        current = self._keys.get(device_id)
        if current is None or not hmac.compare_digest(current, key):
            return  # opened with a key that is no longer current (changed meanwhile)
        self._previous[device_id] = dataclasses.replace(prev, first_new_counter=counter)
        try:
            await self.db.write(note_new_key_counter, format_device_id(device_id), counter,
                                rotated_at=prev.rotated_at)
        except (sqlite3.Error, StorageError) as exc:
            # The limit holds in memory; after a restart the next new-key frame sets it again.
            log.error("cannot record the first counter under a new key: %s", exc,
                      extra={"device": format_device_id(device_id), "counter": counter})

    async def _lookup(self, device_id: int) -> bytes | None:
        fut = self._inflight.get(device_id)
        if fut is not None:
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[device_id] = fut
        try:
            key, prev = await self.db.read(get_device_keys, self.box,
                                           format_device_id(device_id))
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            self._inflight.pop(device_id, None)
        if key is None:
            if len(self._misses) >= _MAX_MISSES:
                self._misses.clear()
            self._misses[device_id] = self.clock()
            self._keys.pop(device_id, None)
            self._previous.pop(device_id, None)
            self._loaded.pop(device_id, None)
        else:
            self._keys[device_id] = key
            if prev is None:
                self._previous.pop(device_id, None)
            else:
                self._previous[device_id] = _merged(prev, self._previous.get(device_id))
            self._loaded[device_id] = self.clock()
            self._misses.pop(device_id, None)
        fut.set_result(key)
        return key


def _merged(read: PreviousKey, cached: PreviousKey | None) -> PreviousKey:
    """A previous key as just read, keeping a lower counter limit noted here meanwhile (its
    registry write may not have committed before the read)."""
    if cached is None or cached.rotated_at != read.rotated_at or cached.key != read.key:
        return read
    low = [c for c in (read.first_new_counter, cached.first_new_counter) if c is not None]
    return dataclasses.replace(read, first_new_counter=min(low) if low else None)
