"""In-memory device-key cache for ingest: one registry read per device, negative entries expire.

    keys = KeyCache(db, box, *, miss_ttl_s=5.0, hit_ttl_s=60.0, clock=time.monotonic)
    await keys.load()                      # warm with every registered key; returns the count
                                           # (IngestServer.start() calls it if nobody did)
    key = await keys.get(0x0000a1b2)       # bytes | None (unknown device)
    key = await keys.refresh(0x0000a1b2)   # re-read after a bad tag (key changed by the CLI)

Unknown ids are remembered for `miss_ttl_s`, so a flood of frames from an unregistered board
costs one database read per TTL, and a board added with ``meterkit gateway devices add`` in
another process is picked up within that TTL. Known keys are re-read after `hit_ttl_s`, so a
removed board stops being served and a replaced key is used within that time (a bad tag also
triggers an early re-read). Keys are never logged or put in a repr.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from gateway.registry import all_device_keys, format_device_id, get_device_key
from gateway.store.db import Database
from gateway.store.keybox import KeyBox

__all__ = ["KeyCache"]

_MAX_MISSES = 10_000


class KeyCache:
    """Device id (uint32) → 16-byte key, backed by the registry."""

    def __init__(self, db: Database, box: KeyBox, *, miss_ttl_s: float = 5.0,
                 hit_ttl_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.box = box
        self.miss_ttl_s = miss_ttl_s
        self.hit_ttl_s = hit_ttl_s
        self.clock = clock
        self._keys: dict[int, bytes] = {}
        self._loaded: dict[int, float] = {}      # id -> monotonic time the key was read
        self._misses: dict[int, float] = {}      # id -> monotonic time of the failed lookup
        self._refreshed: dict[int, float] = {}   # id -> monotonic time of the last refresh
        self._inflight: dict[int, asyncio.Future[bytes | None]] = {}
        self.loaded = False

    def __repr__(self) -> str:
        return f"KeyCache({len(self._keys)} keys)"

    async def load(self) -> int:
        """Read every board key from the registry; return how many there are."""
        keys = await self.db.read(all_device_keys, self.box)
        now = self.clock()
        self._keys = {int(did, 16): key for did, key in keys.items()}
        self._loaded = dict.fromkeys(self._keys, now)
        self._misses.clear()
        self.loaded = True
        return len(self._keys)

    def invalidate(self, device_id: int | None = None) -> None:
        """Forget one device's key (or all); the next get() reads the registry again."""
        if device_id is None:
            self._keys.clear()
            self._misses.clear()
        else:
            self._keys.pop(device_id, None)
            self._loaded.pop(device_id, None)
            self._misses.pop(device_id, None)

    async def get(self, device_id: int) -> bytes | None:
        """The key of a board, or None if it is not registered (cached for miss_ttl_s)."""
        key = self._keys.get(device_id)
        if key is not None and self.clock() - self._loaded.get(device_id, 0.0) < self.hit_ttl_s:
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

    async def _lookup(self, device_id: int) -> bytes | None:
        fut = self._inflight.get(device_id)
        if fut is not None:
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[device_id] = fut
        try:
            key = await self.db.read(get_device_key, self.box, format_device_id(device_id))
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
            self._loaded.pop(device_id, None)
        else:
            self._keys[device_id] = key
            self._loaded[device_id] = self.clock()
            self._misses.pop(device_id, None)
        fut.set_result(key)
        return key
