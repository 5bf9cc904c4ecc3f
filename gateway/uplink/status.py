"""The gateway's own messages: retained online/offline status and quarantine reports."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

from gateway import outbox
from gateway.outbox import OutboxRow
from gateway.store.db import Database
from gateway.uplink.config import MqttConfig
from gateway.uplink.link import Link
from gateway.uplink.messages import alert_message, gateway_status_message, gateway_status_topic

__all__ = ["ALERT_STREAM", "StatusReporter"]

ALERT_STREAM = "gateway:alert"      # the outbox stream of the gateway's own site alerts


class StatusReporter:
    """Publishes ``<prefix>/<site>/gateway/status`` (retained, QoS 1) directly, not through
    the outbox: it describes the connection, and the next connect replaces it anyway."""

    def __init__(self, db: Database, cfg: MqttConfig) -> None:
        self.db = db
        self.cfg = cfg
        self.link: Link | None = None
        self.last_quarantined: dict[str, Any] | None = None
        self._waiting: dict[int, asyncio.Future[None]] = {}

    def message(self, state: str, *, kind: str | None = None,
                **fields: Any) -> tuple[str, bytes]:
        """A status message; msg_id ``<site>:gateway:<kind or state>:<Unix ms>``."""
        ms = time.time_ns() // 1_000_000
        return gateway_status_message(
            self.cfg.site, state, prefix=self.cfg.prefix,
            msg_id=f"{self.cfg.site}:gateway:{kind or state}:{ms}",
            client_id=self.cfg.effective_client_id, **fields)

    @property
    def topic(self) -> str:
        return gateway_status_topic(self.cfg.prefix, self.cfg.site)

    def will(self) -> tuple[str, bytes]:
        """The Last Will for the next connection: retained ``offline`` without a time (the
        broker sends it later); its msg_id names the connection attempt."""
        return self.message("offline", kind="will")

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

    def alert_topic(self) -> str:
        return f"{self.cfg.prefix}/{self.cfg.site}/alert"

    def raises_alert(self, row: OutboxRow) -> bool:
        """Whether quarantining `row` queues a site alert ``uplink_quarantine``.

        Not for a row of the site alert topic: if the broker refuses that topic, the alert
        about the refusal would be refused and quarantined in turn, and raise another alert,
        forever. Such a row is reported only in the retained gateway status."""
        return row.stream != ALERT_STREAM and row.topic != self.alert_topic()

    def quarantine_txn(self, conn: sqlite3.Connection, row: OutboxRow, failure: str,
                       report: dict[str, Any]) -> None:
        """Quarantine `row` and, unless it is a site alert itself, queue a site alert
        ``uplink_quarantine`` — in one transaction."""
        outbox.quarantine(conn, row.id, failure)
        if not self.raises_alert(row):
            return
        topic, payload = alert_message(
            None, prefix=self.cfg.prefix, site=self.cfg.site, kind="uplink_quarantine",
            time=datetime.now(UTC), severity="warning", details=report,
            message=f"message {row.msg_id} quarantined: the broker kept rejecting it",
            msg_id=(msg_id := f"gateway:alert:quarantine:{row.id}"))
        outbox.add(conn, topic=topic, payload=payload, stream=ALERT_STREAM, msg_id=msg_id)
