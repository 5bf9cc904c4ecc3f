"""The alerts plugin: rules on readings, events and baselines; MQTT and e-mail delivery.

Entry point: ``alerts = "gateway.alerts.plugin:AlertsPlugin"`` in ``meterkit.plugins``.
Each hook runs the engine, then commits the changed alert states, the transition log, the
e-mails and the rate-limit state in ONE transaction, then publishes the transitions upstream
(``context.publish``, result name ``alert``) and marks them published. The contract gives no
way to put the host's outbox row in the first transaction (``publish`` commits on its own, in
the gateway database), so a crash between the two steps republishes at start: at least once
upstream, each copy carrying the same ``alert_id`` and ``msg_id`` ("alert:<id>:<state>") for
consumers to de-duplicate on; the state is never raised twice. E-mail leaves through
:class:`MailQueue` in the ``run()`` task; :meth:`AlertsPlugin.snapshot` feeds the health report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.alerts import store
from gateway.alerts.chart import bar_chart
from gateway.alerts.engine import AlertEngine, site_problems
from gateway.alerts.evaluators import rate
from gateway.alerts.lifecycle import Transition
from gateway.alerts.mail import build_message
from gateway.alerts.mailqueue import MailQueue, Sender
from gateway.alerts.ratelimit import RateLimits
from gateway.alerts.render import digest, digest_item, payload, render
from gateway.alerts.rules import SEVERITIES, Rule
from gateway.alerts.settings import AlertsSettings, Recipient, parse_settings
from gateway.alerts.texts import rate_unit
from gateway.model import DeviceEvent, PluginResult, ReadingBatch
from gateway.plugins.hookspecs import PluginError

__all__ = ["AlertsPlugin"]

Mail = tuple[str, str, str, bytes]   # recipient name, address, subject, message


class AlertsPlugin:
    """``PluginClass(config, context)``; `clock` and `send` are for tests."""

    schedule_s: int | None = 60

    @classmethod
    def validate_config(cls, config: dict[str, Any],
                        sites: dict[str, dict[str, Any]] | None = None) -> list[str]:
        """Problems in ``[plugins.alerts]``, each starting with its key path.

        With `sites` (as ``context.sites()`` gives them) the rules are also checked against
        them: an unknown ``site`` or a schedule rule without a climate zone is reported here,
        not only when the plugin starts.
        """
        settings, problems = parse_settings(config)
        if settings is None or sites is None:
            return problems
        return site_problems(settings.rules, sites)

    def __init__(self, config: dict[str, Any], context: Any, *,
                 clock: Callable[[], datetime] | None = None, send: Sender | None = None
                 ) -> None:
        settings, problems = parse_settings(config)
        if settings is None:
            raise PluginError("; ".join(problems), key="plugins.alerts")
        self.settings: AlertsSettings = settings
        self.context = context
        self.log = context.logger
        self.clock = clock or (lambda: datetime.now(UTC))
        self._send = send
        self.rules: dict[str, Rule] = {r.name: r for r in settings.rules}
        self.engine: AlertEngine | None = None
        self.db: Any = None                      # anything with write(fn, *a) / read(fn, *a)
        self._own_db: store.LocalDb | None = None
        self.mail: MailQueue | None = None
        self.limits = RateLimits()
        self._pruned: datetime | None = None
        self.counters = {"raised": 0, "cleared": 0, "published": 0, "mailed": 0,
                         "suppressed": 0, "backfill_not_mailed": 0, "digests": 0}

    # -- hooks ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the state file, restore states, fill profiles, republish what was not sent."""
        sites = self.context.sites()
        self.engine = AlertEngine(self.settings.rules, sites=sites,
                                  live_window_s=self.settings.live_window_s,
                                  started=self.clock())
        if callable(getattr(self.context, "write", None)) and callable(
                getattr(self.context, "read", None)):
            self.db = self.context   # the host's database (proposed hook): no file of our own
        else:
            path = self.settings.state_db or self.context.state_dir / "alerts.db"
            self.db = self._own_db = await store.LocalDb.open(path)
        self.engine.load(await self.db.read(store.load_states))
        self.limits.load(await self.db.read(store.get_kv, "ratelimits"))
        if self.settings.smtp is not None:
            extra = {"send": self._send} if self._send else {}
            self.mail = MailQueue(self.db, self.settings.smtp, logger=self.log,
                                  clock=lambda: self.clock().timestamp(), **extra)
            self.mail.pending = await self.db.read(store.pending_mail)
        now = self.clock()
        for device, channel, weeks in self.engine.profile_channels():
            history = await self.context.series(device=device, channel=channel,
                                                start=now - timedelta(weeks=weeks), end=now)
            self.engine.prefill(device, channel, history)
        await self._publish(await self.db.read(store.unpublished))

    async def on_readings(self, batch: ReadingBatch) -> None:
        """Judge newly committed readings (live and backfill)."""
        assert self.engine is not None
        await self._handle(self.engine.readings(batch, self.clock()))

    async def on_event(self, event: DeviceEvent) -> None:
        """Device-reported events: tamper, power failure, queue overflow ..."""
        assert self.engine is not None
        await self._handle(self.engine.event(event, self.clock()))

    async def on_result(self, result: PluginResult) -> None:
        """Baseline predictions for anomaly rules."""
        assert self.engine is not None
        await self._handle(self.engine.result(result, self.clock()))

    async def on_schedule(self, now: datetime) -> None:
        """Wall-clock checks (silent devices, quiet events) and digests of held-back e-mail."""
        assert self.engine is not None and self.db is not None
        # Alerts whose publish failed earlier (e.g. the database was busy) go out now.
        await self._publish(await self.db.read(store.unpublished))
        await self._handle(self.engine.tick(now), digests=True)
        if self._pruned is None or now - self._pruned >= timedelta(hours=1):
            day = 86400.0
            await self.db.write(store.prune, now.timestamp(), self.settings.keep_days * day,
                                self.settings.keep_mail_days * day)
            self._pruned = now

    def snapshot(self) -> dict[str, Any]:
        """Alert counters, active alerts and the e-mail queue, for the gateway health report."""
        engine = self.engine
        return {
            **self.counters,
            "active": sum(s.active for s in engine.states.values()) if engine else 0,
            "waiting_for_baseline": sum(len(q) for q in engine.pending.values())
            if engine else 0,
            "mail": self.mail.snapshot() if self.mail is not None else None,
        }

    async def run(self) -> None:
        """Deliver queued e-mail (returns at once when no SMTP server is configured)."""
        if self.mail is not None:
            await self.mail.run()

    async def stop(self) -> None:
        """Close the state file (queued e-mail stays queued for the next start)."""
        if self._own_db is not None:
            await self._own_db.close()
            self._own_db = None
        self.db = None

    # -- the common path -----------------------------------------------------------------------

    async def _handle(self, transitions: list[Transition], digests: bool = False) -> None:
        assert self.engine is not None and self.db is not None
        log_items, mails = [], []
        for t in transitions:
            rule = self.rules[t.rule]
            unit = self.engine.states[t.key].extra.get("unit")
            self.counters[t.kind] += 1
            self.log.info("alert %s", t.kind, extra={"rule": t.rule, "key": t.key,
                                                      "at": t.at.isoformat(),
                                                      "backfill": t.backfill})
            log_items.append((t.key, t.kind, int(t.at.timestamp()), payload(t, rule, unit)))
            mails.extend(await self._mails_for(t, rule, unit))
        if digests:
            mails.extend(self._digests())
        if not transitions and not mails and not self.engine.dirty:
            return
        states = [self.engine.states[k] for k in self.engine.dirty]
        self.engine.dirty.clear()
        ids, queued = await self.db.write(self._commit, states, log_items, mails,
                                          self.limits.to_json(), self.clock().timestamp())
        if self.mail is not None:
            self.mail.counters["queued"] += queued
            self.mail.pending += queued
            self.mail.counters["dropped"] += len(mails) - queued
            if queued:
                self.mail.wake.set()
        await self._publish([(i, item[3]) for i, item in zip(ids, log_items, strict=True)])

    def _commit(self, conn: Any, states: list[Any], log_items: list[Any], mails: list[Mail],
                limits: dict[str, Any], now: float) -> tuple[list[int], int]:
        store.save_states(conn, states)
        ids = store.log_transitions(conn, log_items)
        cap = self.settings.smtp.max_queue if self.settings.smtp else 0
        queued = sum(store.add_mail(conn, *m, now, cap) is not None for m in mails)
        store.put_kv(conn, "ratelimits", limits)
        return ids, queued

    async def _publish(self, items: list[tuple[int, dict[str, Any]]]) -> None:
        assert self.db is not None
        for rid, doc in items:
            # Rows stored before msg_id existed get it here; it never changes on a republish.
            doc["alert_id"], doc["msg_id"] = rid, store.msg_id(rid, str(doc.get("state")))
            at = datetime.fromisoformat(doc["time"]) if doc.get("time") else None
            await self.context.publish(PluginResult(
                plugin="alerts", name="alert", payload=doc, site=doc.get("site"),
                device=doc.get("device"), time=at))
            self.counters["published"] += 1
        if items:
            await self.db.write(store.mark_published, [rid for rid, _ in items])

    # -- e-mail --------------------------------------------------------------------------------

    def _wants(self, r: Recipient, rule: Rule) -> bool:
        return SEVERITIES.index(rule.severity) >= SEVERITIES.index(r.min_severity)

    async def _mails_for(self, t: Transition, rule: Rule, unit: str | None) -> list[Mail]:
        assert self.engine is not None
        state = self.engine.states[t.key]
        if not rule.email or self.settings.smtp is None:
            return []
        if t.kind == "cleared" and not state.emailed:
            return []  # nobody was told it started (backfill, or severity filter)
        if t.backfill and not self.settings.email_backfill and t.kind == "raised":
            self.counters["backfill_not_mailed"] += 1
            return []
        recipients = [r for r in self.settings.recipients_of(rule) if self._wants(r, rule)]
        if not recipients:
            return []
        now = self.clock().timestamp()
        chart: bytes | None = None
        out: list[Mail] = []
        for r in recipients:
            lim = self.limits.get(r.name, r.max_messages, r.window_s)
            if not lim.allow(now):
                lim.suppress(digest_item(t, rule, unit))
                self.counters["suppressed"] += 1
                continue
            lim.record(now)
            if chart is None:
                chart = await self._chart(t, rule, unit) or b""
            hours = self.settings.chart_hours if chart else None
            msg = build_message(render(t, rule, r.language, unit, hours),
                                sender=self.settings.smtp.sender, to=r.email,
                                lang=r.language, chart_png=chart or None)
            out.append((r.name, r.email, str(msg["Subject"]), msg.as_bytes()))
            self.counters["mailed"] += 1
        if t.kind == "raised":
            state.emailed = True  # sent or digested: its "back to normal" must follow
            self.engine.dirty.add(t.key)
        return out

    def _digests(self) -> list[Mail]:
        assert self.settings.smtp is not None or not self.limits.by_recipient
        out: list[Mail] = []
        now = self.clock().timestamp()
        for name, lim in self.limits.by_recipient.items():
            r = self.settings.recipients.get(name)
            if r is None or self.settings.smtp is None:
                continue
            taken = lim.take_digest(now)
            if taken is None:
                continue
            msg = build_message(digest(taken[0], taken[1], r.language),
                                sender=self.settings.smtp.sender, to=r.email, lang=r.language)
            out.append((r.name, r.email, str(msg["Subject"]), msg.as_bytes()))
            self.counters["digests"] += 1
        return out

    async def _chart(self, t: Transition, rule: Rule, unit: str | None) -> bytes | None:
        if t.device is None or t.channel is None:
            return None
        start = t.at - timedelta(hours=self.settings.chart_hours)
        try:
            series = await self.context.series(device=t.device, channel=t.channel,
                                               start=start, end=t.at)
        except Exception as exc:  # the chart is decoration: never lose the alert over it
            self.log.warning("no chart: series query failed", extra={"error": repr(exc)})
            return None
        if not series:
            return None
        power_limit = t.limit if rule.kind in ("threshold", "closed_building",
                                               "gas_outside_heating", "anomaly") else None
        if rule.kind == "threshold" and rule.metric == "energy" and power_limit is not None:
            power_limit = power_limit * 3600.0 / series[-1].length_s
        window = (t.since, t.at) if t.kind == "raised" else None
        points = [(r.start, r.length_s, rate(r)) for r in series]
        # ~20 ms of pure-Python raster work: off the event loop, as the house style asks.
        return await asyncio.to_thread(
            bar_chart, points, start=start, end=t.at, unit=rate_unit(unit or series[-1].unit),
            limit=power_limit, window=window)
