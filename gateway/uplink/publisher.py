"""The publisher task: outbox rows → broker, marked delivered only when their PUBACK arrived.

``Publisher(db, cfg).run()`` keeps one paho client connected (:mod:`gateway.uplink.link`),
publishes rows chosen by :mod:`gateway.uplink.lanes` within a bounded in-flight window, and
commits ``delivered`` in batches as PUBACKs come back. Unacknowledged rows stay ``pending``: paho
resends them after a reconnect, and after a restart they are published again from the outbox
(QoS 1: duplicates possible, always with the same ``msg_id``). Rows the broker rejects are
retried after a pause of their stream and quarantined after ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from gateway import outbox
from gateway.outbox import OutboxRow
from gateway.store.db import Database
from gateway.uplink import downlink
from gateway.uplink.config import MqttConfig
from gateway.uplink.discovery import ha_discovery_message
from gateway.uplink.lanes import Lanes
from gateway.uplink.link import Connack, Link
from gateway.uplink.messages import SCHEMA_VERSIONS
from gateway.uplink.status import StatusReporter

__all__ = ["Publisher", "PublisherStats"]

FLAP_S = 10.0   # a connection lost this soon after CONNACK, with messages in flight, "flapped"
PROBE_OK = 20   # PUBACKs that end poison probing


@dataclass(slots=True)
class PublisherStats:
    """Counters for health reporting and tests."""

    connects: int = 0
    published: int = 0
    delivered: int = 0
    rejected: int = 0
    quarantined: int = 0


class Publisher:
    """Drains the outbox to the broker. Set `wake` (or call :meth:`wake_up`) after a commit
    that added outbox rows; :meth:`stop` (or cancelling :meth:`run`) shuts down cleanly."""

    def __init__(self, db: Database, cfg: MqttConfig, *, wake: asyncio.Event | None = None,
                 logger: logging.Logger | None = None,
                 queue_command: Callable[..., int] | None = None) -> None:
        self.db = db
        self.cfg = cfg
        self.wake = wake or asyncio.Event()
        self.log = logger or logging.getLogger("gateway.uplink")
        self.stats = PublisherStats()
        self.status = StatusReporter(db, cfg)
        self.link = Link(cfg, self, will=self.status.will, logger=self.log)
        self.status.link = self.link
        self.lanes = Lanes(db, backlog_rate=cfg.backlog_rate, burst=cfg.inflight,
                           live_scan=cfg.live_scan, live_window_s=cfg.live_window_s)
        self.window = cfg.inflight
        self.max_packet: int | None = None
        self._inflight: dict[int, OutboxRow] = {}     # mid → row, PUBACK not yet seen
        self._inflight_ids: set[int] = set()          # ids not to fetch (in flight or acked)
        self._acked: list[int] = []
        self._rejected: list[tuple[OutboxRow, str]] = []
        self._held: dict[str, float] = {}             # stream → monotonic time it is released
        self._ack_event = asyncio.Event()
        self._idle = asyncio.Event()
        self._stop = asyncio.Event()
        self._link_stop = asyncio.Event()
        self._draining = False
        self._flush_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._announced: set[str] = set()             # streams announced to Home Assistant
        self._up_at = 0.0                             # poison detection (see link_down)
        self._flaps = 0
        self._probing = False
        self._probe_alone = False                     # the one in-flight row was sent probing
        self._probe_ok = 0
        self._receive_max: int | None = None
        self.commands = downlink.Commands(db, cfg, ack=self.link.ack, wake=self.wake,
                                          logger=self.log, queue=queue_command,
                                          redeliver=self.link.reconnect)

    def wake_up(self) -> None:
        """Tell the publisher new rows were committed (thread: event loop only)."""
        self.wake.set()

    def stop(self) -> None:
        """Ask :meth:`run` to shut down cleanly and return."""
        self._stop.set()

    # -- main -----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run until :meth:`stop` or cancellation; then stop taking rows, wait up to
        ``shutdown_grace_s`` for in-flight PUBACKs, publish ``offline`` and disconnect."""
        link = asyncio.create_task(self.link.run(self._link_stop), name="uplink-link")
        pump = asyncio.create_task(self._pump(), name="uplink-pump")
        acks = asyncio.create_task(self._ack_loop(), name="uplink-acks")
        try:
            await _first_of(self._stop.wait(), link, pump, acks)
        finally:
            await self._shutdown(link, pump, acks)
        for t in (link, pump, acks):       # a task that crashed: surface its exception
            if not t.cancelled() and (exc := t.exception()) is not None:
                raise exc

    async def _shutdown(self, link: asyncio.Task[None], pump: asyncio.Task[None],
                        acks: asyncio.Task[None]) -> None:
        self._draining = True
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)
        if self._inflight and self.link.connected:
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.cfg.shutdown_grace_s):
                    await self._idle.wait()
        async with self._flush_lock:      # never cut a flush short: its rows were acked
            acks.cancel()
        await asyncio.gather(acks, return_exceptions=True)
        await self._flush()
        if self.link.connected:
            await self.status.offline(timeout=1.0)
        if self._inflight:
            self.log.info("MQTT shutdown: %d messages without PUBACK stay pending",
                          len(self._inflight))
        self._link_stop.set()             # no reconnect after this; run() then disconnects
        await asyncio.gather(link, return_exceptions=True)
        for t in list(self._tasks):
            t.cancel()

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._draining:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation that
            # arrives as the event is set, and shutdown cancels this task.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.cfg.safety_check_s):
                    await self.wake.wait()
            self.wake.clear()
            if self._draining:
                return
            await self.commands.relay()
            if not self.link.connected:
                continue
            now = time.monotonic()
            for stream in [s for s, t in self._held.items() if t <= now]:
                del self._held[stream]
            # The window counts messages awaiting PUBACK; acknowledged rows whose `delivered`
            # is not committed yet are only kept out of the fetch (in _inflight_ids).
            free = self.window - len(self._inflight)
            if free <= 0 or (self._inflight and free < max(1, self.window // 4)):
                continue
            rows = await self.lanes.next_batch(free, set(self._inflight_ids), set(self._held))
            if not self.link.connected or self._draining:
                continue
            too_big = [(r, why) for r in rows if (why := self._too_big(r))]
            skip = {r.id for r, _ in too_big}
            for row in rows:
                if row.id not in skip:
                    self._publish_row(row)
            for row, why in too_big:
                await self._reject(row, why, final=True)
            if rows:
                self.wake.set()
            elif self.lanes.backlog_waiting:
                need = max(1, self.window // 4)
                delay = max(0.01, need / self.lanes.bucket.rate) if self.lanes.bucket.rate else 0
                loop.call_later(delay, self.wake.set)

    def _too_big(self, row: OutboxRow) -> str | None:
        limit = self.cfg.max_payload_bytes
        if limit and len(row.payload) > limit:
            return f"payload {len(row.payload)} bytes exceeds mqtt.max_payload_bytes {limit}"
        if self.max_packet:
            size = _publish_packet_size(row, self.cfg.protocol == "5")
            if size > self.max_packet:
                return (f"PUBLISH packet {size} bytes exceeds the broker's Maximum Packet Size "
                        f"{self.max_packet}")
        return None

    def _publish_row(self, row: OutboxRow) -> None:
        self._probe_alone = self._probing and not self._inflight
        if self.cfg.ha_discovery and row.stream not in self._announced:
            self._announce_ha(row)
        mid = self.link.publish(row.topic, row.payload, row.qos, row.retain)
        self._inflight[mid] = row
        self._inflight_ids.add(row.id)
        self.stats.published += 1

    def _announce_ha(self, row: OutboxRow) -> None:
        """Publish the Home Assistant config for `row`'s channel once per process (retained,
        not through the outbox: it is derived state, rebuilt from the next reading)."""
        self._announced.add(row.stream)
        try:
            doc = json.loads(row.payload)
        except ValueError:
            return
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_VERSIONS["reading"]:
            return
        msg = ha_discovery_message(doc, state_topic=row.topic, status_topic=self.status.topic,
                                   ha_prefix=self.cfg.ha_prefix)
        if msg is not None:
            self.link.publish(msg[0], msg[1], 1, True)

    # -- PUBACKs ----------------------------------------------------------------------------
    def puback(self, mid: int, failure: str | None) -> None:
        """LinkSink: a PUBACK (or the QoS 0 send) for `mid`, `failure` if reason ≥ 0x80."""
        self.status.acked(mid)
        row = self._inflight.pop(mid, None)
        if row is None:
            return
        if failure is None:
            self._acked.append(row.id)
            if self._probing:
                self._probe_ok += 1
                if self._probe_ok >= PROBE_OK:
                    self._probing = False
                    self.window = min(self.cfg.inflight, self._receive_max or self.cfg.inflight)
        else:
            self._rejected.append((row, failure))
        if not self._inflight:
            self._idle.set()
        if len(self._inflight) <= self.window - max(1, self.window // 4):
            self.wake.set()
        self._ack_event.set()

    async def _ack_loop(self) -> None:
        while True:
            await self._ack_event.wait()
            self._ack_event.clear()
            await self._flush()

    async def _flush(self) -> None:
        async with self._flush_lock:
            ids, self._acked = self._acked, []
            rejected, self._rejected = self._rejected, []
            if ids:
                await self.db.write(outbox.mark_delivered, ids)
                self.stats.delivered += len(ids)
                self._inflight_ids.difference_update(ids)
            for row, failure in rejected:
                await self._reject(row, failure)
            if ids or rejected:
                self.wake.set()

    async def _reject(self, row: OutboxRow, failure: str, *, final: bool = False,
                      probe: bool = False) -> None:
        """Count a refused attempt; quarantine at ``max_attempts``, else pause its stream.
        `probe`: the attempt is a connection loss blamed on the row, which paho still holds."""
        self.stats.rejected += 1
        attempts = await self.db.write(outbox.record_attempt, row.id, failure)
        if probe and attempts < self.cfg.max_attempts:
            self.log.warning("MQTT message %s suspected of breaking the connection (attempt "
                             "%d of %d)", row.msg_id, attempts, self.cfg.max_attempts)
            self._inflight_ids.discard(row.id)
            self.wake.set()
            return
        if final or attempts >= self.cfg.max_attempts:
            report = {"msg_id": row.msg_id, "topic": row.topic, "error": failure,
                      "attempts": attempts, "outbox_id": row.id}
            await self.db.write(self.status.quarantine_txn, row, failure, report)
            self.stats.quarantined += 1
            self.status.last_quarantined = report
            self.log.error("MQTT message %s (outbox id %d, topic %s) quarantined after %d "
                           "attempt(s): %s", row.msg_id, row.id, row.topic, attempts, failure)
            if self.link.connected:
                self._spawn(self.status.announce())
        else:
            self._held[row.stream] = time.monotonic() + self.cfg.reject_retry_s
            asyncio.get_running_loop().call_later(self.cfg.reject_retry_s, self.wake.set)
            self.log.warning("MQTT broker rejected %s (attempt %d of %d): %s; stream %s paused "
                             "%.1f s", row.msg_id, attempts, self.cfg.max_attempts, failure,
                             row.stream, self.cfg.reject_retry_s)
        self._inflight_ids.discard(row.id)

    # -- connection events --------------------------------------------------------------------
    def link_up(self, connack: Connack) -> None:
        """LinkSink: connected; adopt the broker's limits, announce, subscribe, resume."""
        self.stats.connects += 1
        self._up_at = time.monotonic()
        self._receive_max = connack.receive_maximum
        self.window = 1 if self._probing else \
            min(self.cfg.inflight, connack.receive_maximum or self.cfg.inflight)
        self.max_packet = connack.maximum_packet_size
        if self.cfg.commands:
            self.link.subscribe(downlink.command_filter(self.cfg.prefix, self.cfg.site))
        self._spawn(self.status.announce())
        self.wake.set()

    def link_down(self, reason: str) -> None:
        """LinkSink: connection lost; paho keeps the in-flight messages and resends them.

        Poison detection: mosquitto 2.0 closes the connection right after refusing a PUBLISH
        (oversized, or denied by its ACL), and paho resends everything after a reconnect, so one
        bad message can break every connection. After two losses in a row each within
        ``FLAP_S`` of connecting, with messages in flight, we *probe*: paho's copies are dropped
        (new client object, rows back to the outbox) and the window is 1, so a further quick
        loss has exactly one suspect; each counts as an attempt against it and
        ``max_attempts`` quarantine it. ``PROBE_OK`` PUBACKs end probing."""
        if self._draining:
            self.log.info("MQTT disconnected from %s: %s", self.link.broker, reason)
            return
        self.log.warning("MQTT connection to %s lost: %s (%d messages in flight will be resent)",
                         self.link.broker, reason, len(self._inflight))
        flap = bool(self._inflight) and time.monotonic() - self._up_at < FLAP_S
        suspect = next(iter(self._inflight.values())) if len(self._inflight) == 1 else None
        if self._probing or (flap and self._flaps >= 1):
            self._forget_inflight()
            self._probing, self._probe_ok, self.window = True, 0, 1
        if flap and self._probing and suspect is not None and self._probe_alone:
            self._inflight_ids.add(suspect.id)        # not republished until counted
            self._spawn(self._reject(suspect, f"the broker closed the connection while this "
                                              f"message alone was in flight ({reason})",
                                     probe=True))
        self._flaps = self._flaps + 1 if flap else 0

    def _forget_inflight(self) -> None:
        self.link.forget_unacked()
        self._inflight_ids.difference_update(r.id for r in self._inflight.values())
        self._inflight.clear()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.log.error("MQTT uplink background task failed: %r", exc, exc_info=exc)

    # -- commands -------------------------------------------------------------------------------
    def message(self, msg: mqtt.MQTTMessage) -> None:
        """LinkSink: a message on the command subscription."""
        self._spawn(self.commands.handle(msg))


def _publish_packet_size(row: OutboxRow, v5: bool) -> int:
    body = 2 + len(row.topic.encode()) + (2 if row.qos else 0) + (1 if v5 else 0) \
        + len(row.payload)
    n = 1
    while body >= 128 ** n:
        n += 1
    return 1 + n + body


async def _first_of(*aws: Any) -> None:
    futs = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(futs, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for f in futs[:1]:
            f.cancel()
