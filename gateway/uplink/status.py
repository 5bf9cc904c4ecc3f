"""The gateway's own messages: retained online/offline status and quarantine reports."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime
from typing import Any

from gateway import outbox
from gateway.outbox import OutboxRow
from gateway.store.db import Database
from gateway.uplink.config import MqttConfig
from gateway.uplink.link import Link
from gateway.uplink.messages import alert_message, gateway_status_message

__all__ = ["StatusReporter"]


class StatusReporter:
    """Publishes ``<prefix>/<site>/gateway/status`` (retained, QoS 1) directly, not through
    the outbox: it describes the connection, and the next connect replaces it anyway."""

    def __init__(self, db: Database, cfg: MqttConfig) -> None:
        self.db = db
        self.cfg = cfg
        self.link: Link | None = None
        self.last_quarantined: dict[str, Any] | None = None
        self._waiting: dict[int, asyncio.Future[None]] = {}

    def message(self, state: str, **fields: Any) -> tuple[str, bytes]:
        return gateway_status_message(self.cfg.site, state, prefix=self.cfg.prefix,
                                      client_id=self.cfg.effective_client_id, **fields)

    @property
    def topic(self) -> str:
        return self.message("offline")[0]

    def will(self) -> tuple[str, bytes]:
        """The Last Will: retained ``offline`` (no time: it is fixed at connect)."""
        return self.message("offline")

    def acked(self, mid: int) -> None:
        """Called for every PUBACK; resolves a status publish waiting for it."""
        fut = self._waiting.pop(mid, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def announce(self) -> None:
        """Retained ``online`` with the backlog and quarantine counters."""
        counts = await self.db.read(outbox.counts)
        extra = {"last_quarantined": self.last_quarantined} if self.last_quarantined else {}
        await self.publish(*self.message("online", time=datetime.now(UTC),
                                         backlog=counts["pending"],
                                         quarantined=counts["quarantined"], **extra),
                           timeout=10.0)

    async def offline(self, timeout: float) -> None:
        """Retained ``offline`` on a clean shutdown (a clean DISCONNECT suppresses the Will)."""
        await self.publish(*self.message("offline", time=datetime.now(UTC)), timeout=timeout)

    async def publish(self, topic: str, payload: bytes, *, timeout: float) -> None:
        assert self.link is not None, "StatusReporter.link not set"
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[self.link.publish(topic, payload, 1, True)] = fut
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await fut

    def quarantine_txn(self, conn: sqlite3.Connection, row: OutboxRow, failure: str,
                       report: dict[str, Any]) -> None:
        """Quarantine `row` and queue a site alert ``uplink_quarantine``, in one transaction."""
        outbox.quarantine(conn, row.id, failure)
        topic, payload = alert_message(
            None, prefix=self.cfg.prefix, site=self.cfg.site, kind="uplink_quarantine",
            time=datetime.now(UTC), severity="warning", details=report,
            message=f"message {row.msg_id} quarantined: the broker kept rejecting it")
        outbox.add(conn, topic=topic, payload=payload, stream="gateway:alert",
                   msg_id=f"gateway:alert:quarantine:{row.id}")
