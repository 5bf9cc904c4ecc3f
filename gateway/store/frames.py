"""Sync SQL that stores one decoded uplink frame (or plugin readings) inside the writer's txn.

``store_frame(conn, item, now) -> FrameOutcome`` inserts the raw frame and, only when the frame
is new, its decoded content: readings, events, status, HELLO fields, command results. A
byte-identical frame already stored is a ``duplicate`` (acknowledged again); a different frame
under a stored (device, counter) is a ``replay`` (dropped), and so is any counter at or below
the device's *replay floor*: the highest counter whose frame row retention deleted
(:func:`delete_frames` records it). Without the floor a frame captured on the wire and replayed
after its row was pruned would be stored again as new and its readings republished; counters
below the highest stored that were never stored stay acceptable (out-of-order resends), since a
board's counters only grow and a frame older than the retention period has long left its
queue. ``store_input_readings`` does the same for rows submitted by input plugins. Called by
:class:`gateway.writer.Writer` only (and :func:`delete_frames` by retention).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway import commands
from gateway.registry import reserve_downlink_counters

__all__ = [
    "FrameItem", "FrameOutcome", "InputRow", "delete_frames", "devices_with_commands",
    "raise_replay_floor", "replay_floor", "store_frame", "store_input_readings",
]

log = logging.getLogger("gateway.writer")


@dataclass(slots=True)
class FrameItem:
    """An authenticated, decoded uplink frame on its way to the database."""

    device_id: str              # "0000a1b2"
    counter: int
    ftype: str                  # "hello" | "readings" | "status" | "event" | "command_result"
    raw: bytes
    msg: dict[str, Any]         # protocol.codec.decode() output
    peer: str = ""
    received_at: int = 0
    reserve_downlink: int = 0   # >0: also reserve that many downlink counters (same txn)
    take_commands: bool = False  # also take pending commands for the next ACK (same txn)
    exclude_commands: frozenset[int] = frozenset()


@dataclass(slots=True)
class FrameOutcome:
    """What the writer did with a frame. `status` decides whether the connection may ACK it."""

    status: str                 # "stored" | "duplicate" | "replay" | "refused" | "error"
    readings: int = 0           # new readings rows
    readings_ignored: int = 0   # intervals already stored under another frame
    commands: list[dict[str, Any]] = field(default_factory=list)
    downlink: range | None = None
    detail: str = ""

    @property
    def committed(self) -> bool:
        """True when the frame is in the database (new or earlier): the device may forget it."""
        return self.status in ("stored", "duplicate")


@dataclass(frozen=True, slots=True)
class InputRow:
    """One validated input-plugin reading, ready for the readings table."""

    device_id: str
    channel: str
    unit: str
    interval_start: int
    interval_s: int
    register: int
    flags: int


_INSERT_READING = (
    "INSERT INTO readings (device_id, channel, unit, interval_start, interval_s, register, "
    "flags, frame_counter, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (device_id, channel, interval_start) DO NOTHING"
)


def store_frame(conn: sqlite3.Connection, item: FrameItem, now: int, *,
                refuse_new: bool = False,
                with_commands: Container[str] | None = None) -> FrameOutcome:
    """Store `item`; `refuse_new` (size cap reached) refuses new frames, still admits duplicates.

    `with_commands`: the devices that have open commands (see :func:`devices_with_commands`),
    so a batch looks commands up only for them; None looks for every item that asks.
    """
    did = item.device_id
    inserted = False
    floor = replay_floor(conn, did)
    below_floor = floor is not None and item.counter <= floor
    if not refuse_new and not below_floor:
        # Fast path: one statement for a new frame; a conflict means resend or replay.
        inserted = conn.execute(
            "INSERT INTO frames (device_id, counter, type, raw, received_at, peer) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, counter) DO NOTHING",
            (did, item.counter, item.ftype, item.raw, item.received_at or now, item.peer),
        ).rowcount == 1
    if inserted:
        out = FrameOutcome("stored")
        _store_content(conn, item, out, now)
    else:
        existing = conn.execute("SELECT raw FROM frames WHERE device_id = ? AND counter = ?",
                                (did, item.counter)).fetchone()
        if existing is None and below_floor:
            out = FrameOutcome("replay", detail=f"counter {item.counter} is at or below the "
                                                f"replay floor {floor} (pruned frames)")
        elif existing is None:
            out = FrameOutcome("refused", detail="database size cap reached")
        elif existing[0] is None or bytes(existing[0]) == item.raw:
            # raw is NULL once retention pruned it; the counter was stored: a resend.
            out = FrameOutcome("duplicate")
        else:
            out = FrameOutcome("replay", detail=f"counter {item.counter} is already stored "
                                                "with different bytes")
    if item.reserve_downlink:
        out.downlink = reserve_downlink_counters(conn, did, item.reserve_downlink)
    if item.take_commands and out.committed and (with_commands is None or did in with_commands):
        out.commands = commands.take_for_ack(conn, did, exclude=item.exclude_commands, now=now)
    return out


def _store_content(conn: sqlite3.Connection, item: FrameItem, out: FrameOutcome,
                   now: int) -> None:
    msg, did, ctr = item.msg, item.device_id, item.counter
    received = item.received_at or now
    if item.ftype == "readings":
        rows = []
        for block in msg["blocks"]:
            channel = str(block["channel"])
            start, step, unit = block["start"], block["interval_s"], block["unit"]
            for i, (reg, flags) in enumerate(zip(block["registers"], block["flags"],
                                                 strict=True)):
                rows.append((did, channel, unit, start + i * step, step, reg, flags, ctr,
                             received))
        before = conn.total_changes
        conn.executemany(_INSERT_READING, rows)
        out.readings = conn.total_changes - before
        out.readings_ignored = len(rows) - out.readings
    elif item.ftype == "event":
        conn.executemany(
            "INSERT INTO device_events (device_id, frame_counter, idx, time, code, channel, "
            "value, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (device_id, frame_counter, idx) DO NOTHING",
            [(did, ctr, i, e["time"], e["code"], e["channel"], e["value"], received)
             for i, e in enumerate(msg["events"])])
    elif item.ftype == "status":
        cur = conn.execute(
            "INSERT INTO device_status (device_id, frame_counter, time, supply_mv, battery_mv, "
            "csq, temp_dc, uptime_s, free_heap, queue_depth, queue_dropped, boot_count, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (device_id) DO UPDATE SET frame_counter = excluded.frame_counter, "
            "time = excluded.time, supply_mv = excluded.supply_mv, "
            "battery_mv = excluded.battery_mv, csq = excluded.csq, temp_dc = excluded.temp_dc, "
            "uptime_s = excluded.uptime_s, free_heap = excluded.free_heap, "
            "queue_depth = excluded.queue_depth, queue_dropped = excluded.queue_dropped, "
            "boot_count = excluded.boot_count, received_at = excluded.received_at "
            "WHERE excluded.frame_counter > device_status.frame_counter",
            (did, ctr, msg["time"], msg["supply_mv"], msg["battery_mv"], msg["csq"],
             msg["temp_dc"], msg["uptime_s"], msg["free_heap"], msg["queue_depth"],
             msg["queue_dropped"], msg["boot_count"], received))
        if cur.rowcount:
            conn.execute("UPDATE devices SET csq = ?, queue_depth = ?, supply_mv = ? "
                         "WHERE device_id = ?",
                         (msg["csq"], msg["queue_depth"], msg["supply_mv"], did))
    elif item.ftype == "hello":
        fw = ".".join(str(x) for x in msg["fw"])
        conn.execute(
            "UPDATE devices SET fw = ?, config_hash = ?, reset_cause = ?, time_synced = ?, "
            "last_hello_at = ? WHERE device_id = ?",
            (fw, msg["config_hash"], msg["reset_cause"], int(bool(msg["time_synced"])),
             received, did))
    elif item.ftype == "command_result" and not commands.record_result(
            conn, did, msg["cmd_id"], msg["status"], msg.get("detail", 0), now=now):
        log.info("command result for no pending command",
                 extra={"device": did, "cmd_id": msg["cmd_id"], "status": msg["status"]})


def replay_floor(conn: sqlite3.Connection, device_id: str) -> int | None:
    """The device's replay floor (see the module docstring), None if no frame was pruned."""
    row = conn.execute("SELECT counter FROM replay_floors WHERE device_id = ?",
                       (device_id,)).fetchone()
    return None if row is None else int(row[0])


def raise_replay_floor(conn: sqlite3.Connection, device_id: str, counter: int) -> None:
    """Make every counter <= `counter` of the device a replay from now on (never lowers it)."""
    conn.execute(
        "INSERT INTO replay_floors (device_id, counter) VALUES (?, ?) ON CONFLICT (device_id) "
        "DO UPDATE SET counter = max(counter, excluded.counter)", (device_id, int(counter)))


def delete_frames(conn: sqlite3.Connection, ids: Iterable[int]) -> int:
    """Delete frame rows by id (retention), first raising each device's replay floor to the
    highest counter deleted, in the caller's transaction; returns rows deleted."""
    idj = "[" + ",".join(str(int(i)) for i in ids) + "]"
    for device_id, counter in conn.execute(
            "SELECT device_id, max(counter) FROM frames WHERE id IN "
            "(SELECT value FROM json_each(?)) GROUP BY device_id", (idj,)).fetchall():
        raise_replay_floor(conn, device_id, counter)
    return conn.execute("DELETE FROM frames WHERE id IN (SELECT value FROM json_each(?))",
                        (idj,)).rowcount


def devices_with_commands(conn: sqlite3.Connection) -> set[str]:
    """Devices with queued or sent commands (one indexed query per batch, not per frame)."""
    return {r[0] for r in conn.execute(
        "SELECT DISTINCT device_id FROM commands WHERE state IN ('queued', 'sent')")}


def store_input_readings(conn: sqlite3.Connection, rows: list[InputRow], now: int) -> int:
    """Insert plugin readings (first value per interval wins); return how many were new."""
    before = conn.total_changes
    conn.executemany(_INSERT_READING, [
        (r.device_id, r.channel, r.unit, r.interval_start, r.interval_s, r.register, r.flags,
         None, now) for r in rows])
    return conn.total_changes - before
