"""Commands from the platform: ``<prefix>/<site>/<device>/command/set`` → the command queue.

Payload ``{"cmd_id"?: str, "name": str, "params"?: object}``. A valid command is queued with
:func:`gateway.commands.queue_command` and a ``queued`` result is added to the outbox in the same
transaction; anything else gets a ``rejected`` result naming the problem. Results go to
``.../<device>/command/result`` through the outbox (durable, in order per device). The MQTT
message is acknowledged (manual PUBACK) only after that transaction committed (never after a
storage error), so a command the broker handed over is never lost by a gateway crash; the
broker then delivers it again, and a command whose ``cmd_id`` the device already has is answered
again, not queued twice. Authorisation is the broker's ACL.
Later results (``done``/``failed``, recorded by gateway.commands when the board answers) are
relayed to the same topic by :func:`relay_results`, with a cursor kept in ``uplink_cursor``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from gateway import commands as gw_commands  # registers the commands table before db open
from gateway import outbox
from gateway.registry import format_device_id
from gateway.store.db import Database, StorageError, register_schema
from gateway.uplink.config import MqttConfig
from gateway.uplink.messages import command_result_message

__all__ = ["CommandInputError", "CommandRequest", "Commands", "command_filter", "parse_command",
           "queue_request", "reject_request"]

_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
QueueFn = Callable[..., int]
# The command's outcome could not be committed: it must not be acknowledged.
STORAGE_ERRORS = (sqlite3.Error, StorageError, OSError)


class CommandInputError(ValueError):
    """A command message that cannot be accepted; `field` is the offending key path."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A command as received (after validation)."""

    device: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    cmd_id: str | None = None


def command_filter(prefix: str, site: str) -> str:
    """The subscription: ``<prefix>/<site>/+/command/set``."""
    return f"{prefix}/{site}/+/command/set"


def device_of(topic: str, prefix: str, site: str) -> str | None:
    """The device level of a command topic, or None when the topic is not one."""
    head = f"{prefix}/{site}/"
    if not topic.startswith(head) or not topic.endswith("/command/set"):
        return None
    device = topic[len(head):-len("/command/set")]
    return device if device and "/" not in device else None


def parse_command(device: str, payload: bytes, *, retained: bool = False) -> CommandRequest:
    """Validate one command payload; raises :class:`CommandInputError` with the key path."""
    if retained:
        raise CommandInputError("retained commands are ignored (publish with retain=false)",
                                field="retain")
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandInputError(f"not JSON ({exc})", field="payload") from None
    if not isinstance(doc, dict):
        raise CommandInputError("expected a JSON object", field="payload")
    unknown = sorted(set(doc) - {"cmd_id", "name", "params"})
    if unknown:
        raise CommandInputError("unknown key (known: cmd_id, name, params)", field=unknown[0])
    cmd_id = doc.get("cmd_id")
    if cmd_id is not None and (not isinstance(cmd_id, str) or not 0 < len(cmd_id) <= 64):
        raise CommandInputError(f"{cmd_id!r} is not a string of 1-64 characters",
                                field="cmd_id")
    name = doc.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise CommandInputError(f"{name!r} is not a command name ([a-z][a-z0-9_.-]*)",
                                field="name")
    params = doc.get("params", {})
    if not isinstance(params, dict):
        raise CommandInputError(f"expected an object, got {type(params).__name__}",
                                field="params")
    return CommandRequest(device, name, params, cmd_id)


def queue_request(conn: sqlite3.Connection, req: CommandRequest, *, site: str, prefix: str,
                  queue: QueueFn) -> tuple[int, bool]:
    """In one transaction: queue the command and add its ``queued`` result to the outbox.

    Returns ``(gateway_cmd_id, queued_now)``. A command whose ``cmd_id`` this device already
    has is a redelivery (the broker resends a command whose PUBACK a crash prevented): it is
    not queued again but answered again, with the existing ``gateway_cmd_id`` and the same
    ``msg_id`` as the first answer. The same ``cmd_id`` with another name or params is refused.
    """
    did = format_device_id(req.device)
    if req.cmd_id is not None:
        old = gw_commands.find_command(conn, did, ref=req.cmd_id)
        if old is not None:
            clean = gw_commands.validate_command(req.name, req.params)
            if (old["name"], old["params"]) != (req.name, clean):
                raise CommandInputError(
                    f"{req.cmd_id!r} was already used for another command of this device "
                    f"(gateway_cmd_id {old['cmd_id']}, {old['name']}); give every command its "
                    "own cmd_id", field="cmd_id")
            _answer(conn, req, old, site=site, prefix=prefix)
            return int(old["cmd_id"]), False
    gw_id = queue(conn, req.device, req.name, req.params, ref=req.cmd_id)
    new = gw_commands.find_command(conn, did, cmd_id=gw_id)
    if new is None:
        raise RuntimeError(f"queue function returned cmd_id {gw_id} but stored no such command")
    _answer(conn, req, new, site=site, prefix=prefix)
    return gw_id, True


def _answer(conn: sqlite3.Connection, req: CommandRequest, cmd: dict[str, Any], *, site: str,
            prefix: str) -> None:
    """The outbox message saying where command `cmd` (a find_command dict) stands."""
    did = format_device_id(req.device)
    if cmd["state"] in ("done", "failed"):      # same msg_id as relay_results gave it
        status, result = cmd["state"], cmd["result"]
        msg_id = f"{did}:command:{cmd['cmd_id']}:{cmd['result_seq']}"
    else:
        status, result = "queued", None
        msg_id = f"{did}:command:{cmd['id']}:queued"
    topic, payload = command_result_message(site, req.device, prefix=prefix, status=status,
                                            cmd_id=req.cmd_id, gateway_cmd_id=cmd["cmd_id"],
                                            name=req.name, result=result, msg_id=msg_id)
    outbox.add(conn, topic=topic, payload=payload, stream=f"{req.device}:command",
               msg_id=msg_id)


def reject_request(conn: sqlite3.Connection, device: str, error: str, *, site: str, prefix: str,
                   cmd_id: str | None = None, name: str | None = None) -> int:
    """Add a ``rejected`` result naming the problem to the outbox."""
    msg_id = f"{device}:command:rejected:{time.time_ns()}"
    topic, payload = command_result_message(site, device, prefix=prefix, status="rejected",
                                            cmd_id=cmd_id, name=name, error=error, msg_id=msg_id)
    return outbox.add(conn, topic=topic, payload=payload, stream=f"{device}:command",
                      msg_id=msg_id)


register_schema("gateway.uplink.downlink", """
CREATE TABLE IF NOT EXISTS uplink_cursor (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
""")


def relay_results(conn: sqlite3.Connection, *, site: str, prefix: str,
                  since: Callable[..., list[dict[str, Any]]]) -> int:
    """Move command results recorded since the cursor to the outbox (``done``/``failed``),
    advancing the cursor in the same transaction; returns how many."""
    row = conn.execute("SELECT seq FROM uplink_cursor WHERE name = 'command_results'").fetchone()
    seq = int(row[0]) if row else 0
    results = since(conn, seq, limit=500)
    for r in results:
        msg_id = f"{r['device_id']}:command:{r['cmd_id']}:{r['result_seq']}"
        topic, payload = command_result_message(
            site, r["device_id"], prefix=prefix, status=r["state"], cmd_id=r["ref"],
            gateway_cmd_id=r["cmd_id"], name=r["name"], result=r["result"], msg_id=msg_id)
        outbox.add(conn, topic=topic, payload=payload, stream=f"{r['device_id']}:command",
                   msg_id=msg_id)
        seq = max(seq, int(r["result_seq"]))
    if results:
        conn.execute("INSERT INTO uplink_cursor (name, seq) VALUES ('command_results', ?)"
                     " ON CONFLICT (name) DO UPDATE SET seq = excluded.seq", (seq,))
    return len(results)


class Commands:
    """Handles messages on the command subscription (on the event loop)."""

    # a storage error is retried after these pauses (s) before giving the command back
    STORE_RETRIES_S = (0.5, 2.0, 8.0)

    def __init__(self, db: Database, cfg: MqttConfig, *, ack: Callable[[int, int], None],
                 wake: asyncio.Event, logger: logging.Logger,
                 queue: QueueFn | None = None,
                 redeliver: Callable[[], None] = lambda: None) -> None:
        self.db, self.cfg, self._ack, self._wake, self.log = db, cfg, ack, wake, logger
        self._redeliver = redeliver
        self._queue = queue
        self._seq = 0
        self._relay_off = not cfg.commands
        self.queued = 0
        self.rejected = 0
        self.duplicates = 0         # redelivered commands answered without queueing again
        self.unstored = 0           # storage errors: not acknowledged, redelivered later

    def snapshot(self) -> dict[str, int]:
        return {"queued": self.queued, "rejected": self.rejected,
                "duplicates": self.duplicates, "unstored": self.unstored}

    async def relay(self) -> int:
        """Publish new command results (cheap read first); 0 when there are none."""
        if self._relay_off:
            return 0
        results_since = gw_commands.results_since
        try:
            fresh = await self.db.read(lambda c: results_since(c, self._seq, limit=1))
            if not fresh:
                return 0
            site, prefix = self.cfg.site, self.cfg.prefix
            n = await self.db.write(lambda c: relay_results(c, site=site, prefix=prefix,
                                                            since=results_since))
        except sqlite3.OperationalError as exc:   # no commands table in this database
            self.log.warning("MQTT command results not relayed: %s", exc)
            self._relay_off = True
            return 0
        self._seq = await self.db.read(lambda c: int(c.execute(
            "SELECT seq FROM uplink_cursor WHERE name = 'command_results'").fetchone()[0]))
        return n

    def _queue_fn(self) -> QueueFn:
        return self._queue or gw_commands.queue_command

    async def handle(self, msg: mqtt.MQTTMessage) -> None:
        """Validate, queue (or reject) and only then acknowledge `msg` to the broker.

        No PUBACK when the outcome could not be committed (a storage error, retried a few
        times first): the broker still holds the command, and `redeliver` (the publisher drops
        the connection) makes it deliver it again after the reconnect, instead of keeping it
        in flight, unacknowledged, until some later reconnect."""
        site, prefix = self.cfg.site, self.cfg.prefix
        device = device_of(msg.topic, prefix, site)
        if device is None:
            self.log.warning("MQTT message on unexpected topic %s ignored", msg.topic)
        elif msg.payload:           # empty: deletion of a retained message, nothing to do
            for pause in (*self.STORE_RETRIES_S, None):
                try:
                    await self._store(device, msg)
                    break
                except STORAGE_ERRORS as exc:
                    if pause is not None:
                        await asyncio.sleep(pause)
                        continue
                    self.unstored += 1
                    self.log.error("MQTT command on %s could not be stored (%s); not "
                                   "acknowledged: reconnecting so that the broker delivers it "
                                   "again", msg.topic, exc)
                    self._redeliver()
                    return
            self._wake.set()
        if msg.qos > 0:
            self._ack(msg.mid, msg.qos)

    async def _store(self, device: str, msg: mqtt.MQTTMessage) -> None:
        site, prefix = self.cfg.site, self.cfg.prefix
        try:
            req = parse_command(device, msg.payload, retained=bool(msg.retain))
            queue = self._queue_fn()
            _gw_id, fresh = await self.db.write(
                lambda c: queue_request(c, req, site=site, prefix=prefix, queue=queue))
            if fresh:
                self.queued += 1
            else:
                self.duplicates += 1
                self.log.info("MQTT command %s for %s delivered again: answered, not queued "
                              "twice", req.cmd_id, device)
        except ValueError as exc:   # CommandInputError, gateway.commands.CommandError
            self.log.warning("MQTT command on %s rejected: %s", msg.topic, exc)
            self.rejected += 1
            cmd_id, name, error = *_ids(msg.payload), str(exc)
            await self.db.write(lambda c: reject_request(
                c, device, error, site=site, prefix=prefix, cmd_id=cmd_id, name=name))


def _ids(payload: bytes) -> tuple[str | None, str | None]:
    try:
        doc = json.loads(payload)
    except ValueError:
        return None, None
    if not isinstance(doc, dict):
        return None, None
    cid, name = doc.get("cmd_id"), doc.get("name")
    return (cid if isinstance(cid, str) else None), (name if isinstance(name, str) else None)
