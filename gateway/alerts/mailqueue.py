"""The persisted e-mail outbox and the task that drains it with jittered exponential backoff.

Messages are rendered when the alert happens and stored whole (`alert_mail`), so a restart or
a mail server that is down for a day loses nothing. The sender runs as the plugin's ``run()``
task: it never blocks the hooks, waits on an Event (no polling) until the next message is
due, gives up on a message after `max_attempts` or a permanent refusal, and the queue is
bounded (`max_queue`: beyond it new e-mails are dropped and counted, MQTT still carries them).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.alerts import store
from gateway.alerts.errors import MailError
from gateway.alerts.mail import send_mail
from gateway.alerts.settings import SmtpSettings

__all__ = ["MailQueue"]

Sender = Callable[..., Awaitable[None]]


class MailQueue:
    """`run()` delivers what the plugin stored with `store.add_mail` (in the same transaction
    as the alert state), woken by :attr:`wake`; :meth:`snapshot` feeds the health report
    through the plugin's own ``snapshot()``."""

    def __init__(self, db: Any, smtp: SmtpSettings, *, logger: logging.Logger,
                 clock: Callable[[], float] = time.time, send: Sender = send_mail) -> None:
        self.db = db
        self.smtp = smtp
        self.log = logger
        self.clock = clock
        self.send = send
        self.wake = asyncio.Event()
        self.counters = {"queued": 0, "sent": 0, "retries": 0, "failed": 0, "dropped": 0}
        self.pending = 0   # e-mails waiting in the table: set at start, kept up to date here
        self.sending = False

    def snapshot(self) -> dict[str, Any]:
        """Counters since start and the e-mails still waiting, for the health report."""
        return {"pending": self.pending, "sending": self.sending, **self.counters}

    def backoff(self, attempts: int) -> float:
        """Delay before attempt `attempts + 1`: exponential, full jitter in its upper half."""
        ceiling = min(self.smtp.retry_max_s, self.smtp.retry_initial_s * 2 ** max(0, attempts))
        return random.uniform(ceiling / 2, ceiling)

    async def run(self) -> None:
        """Deliver due e-mails forever; sleep until the next is due or a new one arrives."""
        while True:
            self.wake.clear()
            rows, next_at = await self.db.read(store.due_mail, self.clock())
            for row in rows:
                await self._deliver(row)
            if rows:
                continue
            delay = None if next_at is None else max(0.0, next_at - self.clock())
            try:
                async with asyncio.timeout(delay):
                    await self.wake.wait()
            except TimeoutError:
                pass

    async def _deliver(self, row: store.MailRow) -> None:
        self.sending = True
        try:
            await self.send(self.smtp, to=row.address, message=row.message)
        except MailError as exc:
            attempts = row.attempts + 1
            if not exc.transient or attempts >= self.smtp.max_attempts:
                self.counters["failed"] += 1
                self.log.error("e-mail given up", extra={
                    "recipient": row.recipient, "subject": row.subject, "attempts": attempts,
                    "error": str(exc)})
                await self.db.write(store.mail_done, row.id, "failed", str(exc))
                self.pending -= 1
                return
            delay = self.backoff(row.attempts)
            self.counters["retries"] += 1
            self.log.warning("e-mail not delivered, will retry", extra={
                "recipient": row.recipient, "attempts": attempts, "in_s": round(delay, 2),
                "error": str(exc)})
            await self.db.write(store.mail_retry, row.id, self.clock() + delay, str(exc))
            return
        finally:
            self.sending = False
        self.counters["sent"] += 1
        await self.db.write(store.mail_done, row.id, "sent", None)
        self.pending -= 1
