"""One board's TCP connection: deframe, authenticate, queue for commit, ACK after the commit.

Two tasks per connection. The reader deframes bytes, authenticates each frame with the device
key, and queues it on the :class:`~gateway.writer.Writer` without waiting for the commit (a board
may pipeline its backlog). The acker awaits the commits in order and sends one ACK per group of
commits: ``acked`` is :meth:`AckTracker.acked`, ``server_time`` comes from the injected clock,
pending commands ride along, and the frame is sealed with the device key under a fresh, already
persisted downlink counter. Nothing is acknowledged before the transaction that stored it has
committed.

A connection belongs to the first device that authenticates on it. Dropped frames (unknown
device, bad tag, malformed payload, replay, ...) are counted per reason and logged with peer and
reason; ``max_failures`` consecutive drops close the connection.

Frames are authenticated by :class:`~gateway.ingest.opener.FrameOpener` (current key, re-read
key, or the previous key after a rotation). Every reply (ACK, with its commands) is sealed with
the board's *current* key: after a rotation it is the only key it has. Old-key acceptances are
counted (``frames_old_key``) and logged once per connection, never with key material.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gateway.ingest.acks import AckTracker
from gateway.ingest.keys import KeyCache
from gateway.ingest.limits import IngestLimits, TokenBucket
from gateway.ingest.opener import FrameOpener
from gateway.ingest.scanner import FrameScanner
from gateway.ingest.stats import IngestStats
from gateway.registry import PreviousKey, format_device_id
from gateway.writer import FrameItem, FrameOutcome, Writer, WriterClosed
from protocol import codec
from protocol.frame import MAX_PAYLOAD, TYPE_NAMES, Header, parse_header

__all__ = ["Connection"]

_U32 = 0xFFFFFFFF


@dataclass(slots=True)
class _InFlight:
    counter: int
    nbytes: int
    future: asyncio.Future[FrameOutcome]
    reserved: bool
    took_commands: bool


class Connection:
    """Serves one accepted TCP connection until EOF, idle timeout, too many failures or close."""

    def __init__(self, reader: asyncio.StreamReader, stream: asyncio.StreamWriter, *,
                 store: Writer, keys: KeyCache, limits: IngestLimits, stats: IngestStats,
                 clock: Callable[[], float], log: logging.Logger) -> None:
        self.reader = reader
        self.stream = stream
        self.store = store
        self.keys = keys
        self.opener = FrameOpener(keys, clock)
        self.limits = limits
        self.stats = stats
        self.clock = clock
        self.log = log
        peer = stream.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.scanner = FrameScanner(max_payload=MAX_PAYLOAD)
        self.tracker = AckTracker()
        self.bucket = TokenBucket(limits.max_frames_per_s, limits.burst)
        self.device_id: int | None = None
        self._did = ""
        self._key: bytes | None = None
        self._old_key_logged = False
        self._failures = 0
        self._garbage_mark = 0
        self._garbage_counted = 0
        self._inflight: deque[_InFlight] = deque()
        self._inflight_bytes = 0
        self._has_inflight = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._downlink: deque[int] = deque()
        self._last_downlink = 0      # the counter of the last downlink frame sent
        self._reserving = False
        self._taking_commands = False
        self._sent_cmds: set[int] = set()
        self._cmd_backlog: list[dict[str, Any]] = []
        self._end: str | None = None
        self._stopping = False
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self._read_since = self._loop.time()
        self._reading = False
        self._idle_timer: asyncio.TimerHandle | None = None
        self._auth_timer: asyncio.TimerHandle | None = None

    # -- reading --------------------------------------------------------------------------

    async def run(self) -> str:
        """Serve until the connection ends; return why ("eof", "idle_timeout", ...)."""
        acker = asyncio.create_task(self._ack_loop(), name=f"ingest-ack {self.peer}")
        self._idle_timer = self._loop.call_later(self.limits.idle_timeout_s, self._idle_check)
        self._auth_timer = self._loop.call_later(self.limits.auth_timeout_s, self._auth_check)
        reason = "internal_error"
        try:
            reason = await self._read_loop()
            if reason in ("eof", "reset") and self.scanner.partial_frame():
                self._drop("truncated", None, f"connection ended {self.scanner.buffered()} "
                           "bytes into a frame", failure=False)
            if reason in ("eof", "shutdown") and self._inflight:
                # The board may still read: ACK what is committing before we hang up.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.limits.drain_timeout_s):
                        await self._drained()
        except Exception:
            self.log.exception("ingest connection failed", extra={"peer": self.peer})
        finally:
            for timer in (self._idle_timer, self._auth_timer):
                if timer is not None:
                    timer.cancel()
            # The acker also stops by itself on `_closed`: a cancellation swallowed inside
            # asyncio (3.11 wait_for/drain races) must not keep the connection alive.
            self._closed = True
            self._has_inflight.set()
            acker.cancel()
            await asyncio.wait({acker}, timeout=1.0)
            self.stream.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self.stream.wait_closed()
        return self._end or reason

    def _idle_check(self) -> None:
        """One timer per connection (cheaper than a timeout per read): close after silence.

        Only time spent waiting in read() counts: pacing, backpressure and key lookups do not.
        """
        idle = self.limits.idle_timeout_s
        remaining = self._read_since + idle - self._loop.time()
        if not self._reading or remaining > 0:  # busy with what it sent, or not silent long
            self._idle_timer = self._loop.call_later(max(remaining, idle / 10), self._idle_check)
            return
        self.log.info("ingest connection idle, closing",
                      extra={"peer": self.peer, "device": self._did, "idle_s": idle})
        self._finish("idle_timeout")

    def _auth_check(self) -> None:
        """A connection that has not sent one authentic frame in time is closed."""
        if self.device_id is None and self._end is None:
            self.log.info("ingest connection sent no authentic frame in time, closing",
                          extra={"peer": self.peer, "auth_timeout_s": self.limits.auth_timeout_s})
            self._finish("auth_timeout")

    def stop_reading(self) -> None:
        """Shutdown: read nothing more, ACK what is committing, then hang up (run() returns)."""
        if self._stopping:
            return
        self._stopping = True
        transport = self.stream.transport
        if not transport.is_closing():
            transport.pause_reading()
            self.reader.feed_eof()

    async def _drained(self) -> None:
        while self._inflight and self._end is None:
            self._space.clear()
            await self._space.wait()

    async def _read_loop(self) -> str:
        limits = self.limits
        while self._end is None:
            while (self._inflight_bytes + self.scanner.buffered() >= limits.max_buffered_bytes
                   and self._end is None):
                self._space.clear()
                await self._space.wait()   # our backlog, not the board's silence: no idle timer
            if self._end is not None:
                break
            self._read_since = self._loop.time()
            self._reading = True
            try:
                data = await self.reader.read(limits.read_size)
            except (ConnectionError, OSError):
                return "reset"
            finally:
                self._reading = False
            if not data:
                return "shutdown" if self._stopping else "eof"
            self.scanner.feed(data)
            while self._end is None:
                raw = self.scanner.peek()
                self._count_garbage()
                if self.scanner.discarded_bytes - self._garbage_mark > limits.max_garbage_bytes:
                    self.log.warning("ingest connection sends garbage, closing",
                                     extra={"peer": self.peer, "device": self._did,
                                            "garbage_bytes": self.scanner.discarded_bytes})
                    return "garbage"
                if raw is None:
                    break
                try:
                    await self._frame(raw)
                except WriterClosed:
                    return "shutdown"
        return self._end or "closed"

    def _count_garbage(self) -> None:
        new = self.scanner.discarded_bytes - self._garbage_counted
        if new:
            self.stats.garbage_bytes += new
            self._garbage_counted = self.scanner.discarded_bytes

    async def _frame(self, raw: bytes) -> None:
        """Authenticate the peeked frame, then accept() and queue it, or reject() it."""
        self.stats.frames_received += 1
        await self.bucket.take()
        h = self.scanner.header
        if h is None:  # pragma: no cover - peek() always sets it with a frame
            h = parse_header(raw)
        if h.downlink:
            self.scanner.reject()
            self._drop("downlink_frame", h, f"{TYPE_NAMES[h.ftype]} frames travel gateway→board")
            return
        if self.device_id is not None and h.device_id != self.device_id:
            self.scanner.reject()
            self._drop("device_mismatch", h,
                       f"connection belongs to {self._did}, frame says {h.device_id:08x}")
            return
        # A connection's first frame: a board that rebooted, maybe with a new key.
        opened = await self.opener.open(raw, h, first_frame=self.device_id is None)
        if opened.rejected is not None:
            self.scanner.reject()  # forged, or a cut frame that swallowed the next one
            reason, detail = opened.rejected
            self._drop(reason, h, detail)
            return
        self.scanner.accept()
        if opened.error is not None:
            err = opened.error
            self._drop(err.reason, h, err.detail, failure=getattr(err, "failure", True))
            return
        assert opened.message is not None and opened.key is not None
        if h.device_id != self.device_id:
            self.device_id, self._did = h.device_id, format_device_id(h.device_id)
        if opened.previous is not None:
            self._old_key_accepted(h, opened.previous)
        self._key = opened.key  # the current key, also after an old-key frame: replies use it
        self._failures = 0
        self._garbage_mark = self.scanner.discarded_bytes
        await self._submit(raw, h, opened.message)

    def _old_key_accepted(self, h: Header, prev: PreviousKey) -> None:
        self.stats.frames_old_key += 1
        if not self._old_key_logged:
            self._old_key_logged = True
            self.log.info(
                "frames sealed with the previous key of the device accepted (backlog from "
                "before its key rotation)",
                extra={"peer": self.peer, "device": self._did, "counter": h.counter,
                       "rotated_at": prev.rotated_at,
                       "first_new_counter": prev.first_new_counter})

    async def _submit(self, raw: bytes, h: Header, msg: dict[str, Any]) -> None:
        item = FrameItem(self._did, h.counter, TYPE_NAMES[h.ftype], raw, msg, peer=self.peer,
                         received_at=int(self.clock()))
        reserved = took = False
        if not self._reserving and len(self._downlink) < self.limits.downlink_block // 2:
            item.reserve_downlink = self.limits.downlink_block
            self._reserving = reserved = True
        if not self._taking_commands:
            item.take_commands = True
            item.exclude_commands = frozenset(self._sent_cmds)
            self._taking_commands = took = True
        self.tracker.received(h.counter)
        fut = await self.store.enqueue_frame(item)
        self._inflight.append(_InFlight(h.counter, len(raw), fut, reserved, took))
        self._inflight_bytes += len(raw)
        self._has_inflight.set()

    def _drop(self, reason: str, h: Header | None, detail: str, *, failure: bool = True) -> None:
        self.stats.dropped[reason] += 1
        self.log.warning(
            "frame dropped: %s", reason,
            extra={"peer": self.peer, "reason": reason, "detail": detail,
                   "device": f"{h.device_id:08x}" if h else self._did,
                   "counter": h.counter if h else None})
        if failure:
            self._failures += 1
            if self._failures >= self.limits.max_failures and self._end is None:
                self.log.warning("too many bad frames, closing connection",
                                 extra={"peer": self.peer, "device": self._did,
                                        "failures": self._failures})
                self._finish("too_many_failures")

    def _finish(self, reason: str) -> None:
        if self._end is None:
            self._end = reason
        self._space.set()
        self.stream.close()

    # -- acknowledging ----------------------------------------------------------------------

    async def _ack_loop(self) -> None:
        try:
            await self._ack_forever()
        except (WriterClosed, ConnectionError, OSError) as exc:
            self.log.info("ingest connection stops acknowledging: %r", exc,
                          extra={"peer": self.peer, "device": self._did})
            self._finish("shutdown")
        except Exception:
            self.log.exception("ingest acknowledger failed", extra={"peer": self.peer})
            self._finish("internal_error")

    async def _ack_forever(self) -> None:
        while not self._closed:
            while not self._inflight:
                if self._closed:
                    return
                self._has_inflight.clear()
                await self._has_inflight.wait()
            head = self._inflight[0]
            with contextlib.suppress(Exception):
                await asyncio.shield(head.future)
            need_ack = False
            while self._inflight and self._inflight[0].future.done():
                need_ack |= self._settle(self._inflight.popleft())
            self._space.set()
            if (need_ack or self._cmd_backlog) and self._end is None and not self._closed:
                await self._send_ack()

    def _settle(self, f: _InFlight) -> bool:
        """Apply one commit outcome; True if it lets the board forget a frame (ACK due)."""
        self._inflight_bytes -= f.nbytes
        try:
            out = f.future.result()
        except (asyncio.CancelledError, Exception) as exc:  # WriterClosed at shutdown
            out = FrameOutcome("error", detail=repr(exc))
        if f.reserved:
            self._reserving = False
            if out.downlink is not None:
                self._add_downlink(out.downlink)
        if f.took_commands:
            self._taking_commands = False
            for cmd in out.commands:
                if cmd["cmd_id"] not in self._sent_cmds:
                    self._sent_cmds.add(cmd["cmd_id"])
                    self._cmd_backlog.append(cmd)
        if out.committed:
            self.tracker.committed(f.counter)
            self.stats.frames_committed += 1
            if out.status == "duplicate":
                self.stats.frames_duplicate += 1
            return True
        if out.status == "replay":
            self.tracker.dropped(f.counter)
            self._drop("replay", None, f"counter {f.counter}: {out.detail}")
        else:  # refused / error: the board must keep it, so nothing above it is acked
            self.tracker.blocked(f.counter)
            reason = "storage_refused" if out.status == "refused" else "storage_error"
            self._drop(reason, None, f"counter {f.counter}: {out.detail}", failure=False)
        return False

    def _add_downlink(self, block: Iterable[int]) -> None:
        """Add reserved counters, keeping them increasing: the board drops a downlink frame at
        or below the highest counter it accepted (PROTOCOL.md 7). A block reserved by a frame
        commits in the writer's order, so it can land after a block reserved later by an ACK;
        counters at or below one already sent are skipped (never reused: nonces stay unique)."""
        merged = sorted({*self._downlink, *block})
        self._downlink = deque(c for c in merged if c > self._last_downlink)

    async def _send_ack(self) -> None:
        acked = self.tracker.acked()
        if acked is None or self._key is None:
            return
        if not self._downlink:
            self._add_downlink(await self.store.reserve_downlink(self._did,
                                                                 self.limits.downlink_block))
        counter = self._downlink.popleft()
        self._last_downlink = counter
        cmds, self._cmd_backlog = self._cmd_backlog[:8], self._cmd_backlog[8:]
        frame = codec.encode({
            "type": "ack", "device_id": self.device_id, "counter": counter,
            "acked": acked, "server_time": int(self.clock()) & _U32, "commands": cmds,
        }, self._key)
        try:
            self.stream.write(frame)
            async with asyncio.timeout(self.limits.ack_write_timeout_s):
                await self.stream.drain()
        except (ConnectionError, OSError, TimeoutError):
            self._finish("ack_write_failed")
            return
        self.stats.acks_sent += 1
