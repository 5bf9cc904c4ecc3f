"""Device registry in the gateway database: identity, sealed key, site, channels, health, counters.

Sync functions take a ``sqlite3.Connection`` so they compose inside one ``db.write``/``db.read``:

    add_device(conn, box, device_id, key, *, site, channels=None, calibration=None,
               replace=False, first_counter=None, now=None) -> Device
    update_device(conn, device_id, *, site=None, channels=None, calibration=None, now=None)
    get_device(conn, device_id) -> Device | None          # never carries the key
    get_device_key(conn, box, device_id) -> bytes | None  # the clear 16-byte key
    all_device_keys(conn, box) -> dict[str, bytes]        # rows that do not open: logged, skipped
    get_previous_key(conn, box, device_id) -> PreviousKey | None   # the key before the last change
    get_device_keys(conn, box, device_id) -> (bytes | None, PreviousKey | None)  # one read
    all_previous_keys(conn, box) -> dict[str, PreviousKey]
    note_new_key_counter(conn, device_id, counter, *, rotated_at) -> bool
    forget_previous_key(conn, device_id) -> bool
    get_key_state(conn, device_id) -> KeyState | None     # the key columns as stored (opaque)
    restore_key_state(conn, device_id, state, *, only_if=None) -> bool   # exact undo
    list_devices(conn) -> list[Device]
    remove_device(conn, device_id) -> bool
    next_downlink_counter(conn, device_id) -> int
    reserve_downlink_counters(conn, device_id, n) -> range

``device_id`` may be an int (uint32 from a frame header) or text; board ids are stored as 8
lowercase hex digits, input-plugin devices as ``"<plugin>:<name>"`` (they have no key).
:class:`gateway.ingest.keys.KeyCache` is the async in-memory key lookup ingest uses.

Key changes (docs/decisions/016-key-rotation-grace.md). When ``add_device(replace=True)`` gives
a board a different key — ``meterkit provision rotate`` and ``provision --replace`` both arrive
here — the key it replaces is kept as the board's *previous key* (``prev_key_enc``, sealed like
the current one) with the time of the change, because the board's flash queue still holds
frames sealed with it. Only the last previous key is kept. Ingest accepts it within a grace
period and only below ``key_first_counter``: the board's reserved counter limit when
provisioning read it from the board at the change (``first_counter``), lowered to the lowest
counter seen under the new key (:func:`note_new_key_counter`). :func:`remove_device` deletes it
with the row, so a board removed and added again never has one; :func:`forget_previous_key`
drops it from the registry (a key known to have leaked; see there for the running gateway).
A change is *confirmed* (``Device.rotation_confirmed``) once a frame at or above that limit is
stored: only the current key can have sealed it, so the board's backlog is delivered.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.store import schema as _schema  # noqa: F401  (registers the tables)
from gateway.store.db import register_schema
from gateway.store.keybox import KeyBox, KeyBoxError

__all__ = [
    "CHANNEL_KINDS",
    "CHANNEL_UNITS",
    "Device",
    "KeyState",
    "PreviousKey",
    "all_device_keys",
    "all_previous_keys",
    "RegistryError",
    "add_device",
    "forget_previous_key",
    "format_device_id",
    "get_device",
    "get_device_key",
    "get_device_keys",
    "get_key_state",
    "get_previous_key",
    "list_devices",
    "max_stored_counter",
    "next_downlink_counter",
    "note_new_key_counter",
    "remove_device",
    "reserve_downlink_counters",
    "restore_key_state",
    "update_device",
    "channels_from_pairs",
    "validate_channels",
]

log = logging.getLogger("gateway.registry")

CHANNEL_KINDS = ("electric", "gas")
# Register units a channel of each kind may declare (the wire's units, protocol §5.2).
CHANNEL_UNITS = {"electric": ("Wh", "Wh_export", "pulse"), "gas": ("L", "pulse")}
_BOARD_ID = re.compile(r"^[0-9a-f]{8}$")
_PLUGIN_ID = re.compile(r"^[a-z0-9_.-]+:[A-Za-z0-9_.:-]+$")
_UINT32_MAX = 0xFFFFFFFF


class RegistryError(ValueError):
    """A registry operation was given a bad value: `field`, the `value` and what is expected."""

    def __init__(self, message: str, *, field: str, value: Any = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.value = value


@dataclass(frozen=True, slots=True)
class Device:
    """One registry row, without its key."""

    device_id: str
    site: str
    channels: dict[str, dict[str, Any]]
    calibration: dict[str, Any] = field(default_factory=dict)
    has_key: bool = False
    fw: str | None = None
    config_hash: int | None = None
    reset_cause: str | None = None
    time_synced: bool | None = None
    csq: int | None = None
    queue_depth: int | None = None
    supply_mv: int | None = None
    last_seen: int | None = None
    last_peer: str | None = None
    last_hello_at: int | None = None
    downlink_counter: int = 0
    created_at: int = 0
    updated_at: int = 0
    # Key rotation (field names avoid "key": device dicts are printed and published)
    previous_kept: bool = False          # the board's key before the last change is still kept
    rotated_at: int | None = None        # when its key last changed (Unix s)
    # old-key frames are only accepted below it: the board's counter limit read at the change
    # (if known), lowered to the lowest counter seen under the new key
    first_counter_since_rotation: int | None = None
    # while a previous key is kept (else None): whether a frame only the current key can have
    # sealed (counter at or above that limit) is stored, i.e. the board's backlog is delivered
    rotation_confirmed: bool | None = None

    @property
    def is_board(self) -> bool:
        return bool(_BOARD_ID.match(self.device_id))


@dataclass(frozen=True, slots=True)
class PreviousKey:
    """A board's key before its last change, for the frames it sealed with it (its backlog)."""

    key: bytes = field(repr=False)
    rotated_at: int                       # Unix s: when it stopped being the current key
    first_new_counter: int | None = None  # lowest counter accepted under the current key since


@dataclass(frozen=True, slots=True)
class KeyState:
    """A device's key columns exactly as stored, for an exact undo (:func:`restore_key_state`).

    The blobs stay sealed (opaque): nothing here opens, logs or prints a key.
    """

    key_enc: bytes | None = field(repr=False)
    prev_key_enc: bytes | None = field(repr=False)
    rotated_at: int | None
    first_counter: int | None


def format_device_id(device_id: int | str) -> str:
    """Canonical text id: uint32 → ``"0000a1b2"``; hex text lower-cased; plugin ids as given."""
    if isinstance(device_id, int) and not isinstance(device_id, bool):
        if not 0 <= device_id <= _UINT32_MAX:
            raise RegistryError(f"{device_id} is not a uint32", field="device_id",
                                value=device_id)
        return f"{device_id:08x}"
    if isinstance(device_id, str):
        text = device_id.strip()
        low = text.lower()
        if low.startswith("0x"):
            low = low[2:]
        if re.fullmatch(r"[0-9a-f]{1,8}", low):
            return low.rjust(8, "0")
        if _PLUGIN_ID.match(text):
            return text
    raise RegistryError(
        f"{device_id!r} is neither a board id (up to 8 hex digits, e.g. 0000a1b2) nor a "
        "plugin device id ('<plugin>:<name>', e.g. modbus:sdm630-1)",
        field="device_id", value=device_id,
    )


def validate_channels(channels: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    """Check a channel map (index → {name, kind, unit, ...}) and return it with text keys.

    Refused here, at registration, rather than by the normaliser after readings arrived: a
    unit that does not fit the kind (``gas`` in ``Wh``), a ``pulse`` channel without a
    positive ``factor`` (litres or Wh per pulse), a non-positive factor, a bad ``modulus``,
    and two keys naming the same channel index (``0`` and ``"0"``).
    """
    if not isinstance(channels, dict):
        raise RegistryError(f"must be an object, got {type(channels).__name__}",
                            field="channels", value=channels)
    out: dict[str, dict[str, Any]] = {}
    names: set[str] = set()
    for raw_key, spec in channels.items():
        key = _channel_key(raw_key)
        where = f"channels.{key}"
        if key in out:
            raise RegistryError(f"channel index {key} is given twice; each index once",
                                field=where, value=raw_key)
        if not isinstance(spec, dict):
            raise RegistryError(f"must be an object, got {type(spec).__name__}", field=where,
                                value=spec)
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise RegistryError(f"'name' must be a non-empty string, got {name!r}",
                                field=f"{where}.name", value=name)
        if name in names:
            raise RegistryError(f"channel name {name!r} is used twice", field=f"{where}.name",
                                value=name)
        names.add(name)
        kind = spec.get("kind")
        if kind not in CHANNEL_KINDS:
            raise RegistryError(f"'kind' must be one of {CHANNEL_KINDS}, got {kind!r}",
                                field=f"{where}.kind", value=kind)
        _check_calibration(spec, kind, where)
        out[key] = dict(spec)
    return out


def channels_from_pairs(pairs: Iterable[tuple[Any, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """(index, spec) pairs (e.g. repeated ``--channel`` options) → a checked channel map.

    Unlike ``dict(pairs)``, an index given twice is an error instead of the later one silently
    replacing the earlier.
    """
    out: dict[str, dict[str, Any]] = {}
    for raw_key, spec in pairs:
        key = _channel_key(raw_key)
        if key in out:
            raise RegistryError(f"channel index {key} is given twice; each index once",
                                field=f"channels.{key}", value=raw_key)
        out[key] = spec
    return validate_channels(out)


def _channel_key(raw_key: Any) -> str:
    """A board channel index as canonical decimal text (0..255); a plugin's channel name."""
    if isinstance(raw_key, bool):
        raise RegistryError("channel index must be 0..255 or a name, got a boolean",
                            field="channels", value=raw_key)
    key = str(raw_key).strip()
    if isinstance(raw_key, int) or key.isdigit():
        index = int(key)
        if not 0 <= index <= 255:
            raise RegistryError(f"channel index {index} is out of range (the wire carries "
                                "0..255)", field=f"channels.{key}", value=raw_key)
        return str(index)   # "01" and 1 are the channel the board sends as "1"
    if not key:
        raise RegistryError("channel key is empty", field="channels", value=raw_key)
    return key


def _check_calibration(spec: dict[str, Any], kind: str, where: str) -> None:
    unit = spec.get("unit")
    if unit is not None and unit not in CHANNEL_UNITS[kind]:
        raise RegistryError(f"unit {unit!r} does not fit kind {kind!r} (expected one of "
                            f"{', '.join(CHANNEL_UNITS[kind])})", field=f"{where}.unit",
                            value=unit)
    factor = spec.get("factor")
    if factor is None and unit == "pulse":
        raise RegistryError("a pulse channel needs 'factor' (Wh or litres per pulse, e.g. "
                            "1:gas:gas:pulse:10 for 10 L/pulse)", field=f"{where}.factor")
    if factor is not None and (isinstance(factor, bool) or not isinstance(factor, int | float)
                               or not math.isfinite(factor) or factor <= 0):
        raise RegistryError(f"'factor' must be a positive number, got {factor!r}",
                            field=f"{where}.factor", value=factor)
    if "modulus" in spec:
        modulus = spec["modulus"]
        if modulus is not None and (type(modulus) is not int or modulus < 2):
            raise RegistryError(f"'modulus' must be null (never wraps) or an integer >= 2, "
                                f"got {modulus!r}", field=f"{where}.modulus", value=modulus)


def _check_key(device_id: str, key: bytes | None) -> None:
    is_board = bool(_BOARD_ID.match(device_id))
    if is_board and (not isinstance(key, bytes | bytearray) or len(key) != 16):
        raise RegistryError(
            f"board {device_id} needs a 16-byte AES-128 key, got "
            f"{'none' if key is None else f'{len(key)} bytes'}", field="key")
    if not is_board and key is not None:
        raise RegistryError(f"plugin device {device_id} takes no key", field="key")


# The highest downlink counter handed out to a removed device id. Removing a device deletes its
# row, and a board added again at that id (often with the same key, e.g. a bundle imported
# twice) must not restart its downlink counter at 0: that would repeat (key, counter) nonces,
# and the board, which keeps the highest downlink counter it accepted, would drop every ACK
# until the counter passed it again (PROTOCOL.md §7).
register_schema("registry.downlink_retired", """
CREATE TABLE IF NOT EXISTS downlink_retired (
    device_id TEXT PRIMARY KEY,
    counter   INTEGER NOT NULL
) WITHOUT ROWID;
""")


def add_device(conn: sqlite3.Connection, box: KeyBox | None, device_id: int | str,
               key: bytes | None, *, site: str, channels: dict[Any, Any] | None = None,
               calibration: dict[str, Any] | None = None, replace: bool = False,
               first_counter: int | None = None, now: int | None = None) -> Device:
    """Register a device (its key sealed with `box`); `replace=True` overwrites key and config.

    Replacing keeps the downlink counter, so downlink nonces never repeat under an old key.
    Replacing the key with a different one keeps the replaced key as the previous key (see the
    module docstring); the same key again leaves the previous key as it was.

    `first_counter`: the board's reserved counter limit when its key changes (provisioning
    reads it from the board): every frame it sealed with the replaced key has a lower counter,
    and it continues at or above it. When this call keeps a previous key, old-key frames are
    accepted only below it from the start. None: unknown (the limit is then set by the board's
    first new-key frame); ignored when the key does not change.
    """
    did = format_device_id(device_id)
    _check_key(did, key)
    if key is not None and box is None:
        raise RegistryError("a KeyBox is needed to store a key", field="key")
    if not isinstance(site, str):
        raise RegistryError(f"must be text, got {site!r}", field="site", value=site)
    chans = validate_channels(channels or {})
    calib = calibration or {}
    if not isinstance(calib, dict):
        raise RegistryError("must be an object", field="calibration", value=calib)
    if first_counter is not None and (
            not isinstance(first_counter, int) or isinstance(first_counter, bool)
            or not 0 <= first_counter <= _UINT32_MAX + 1):
        raise RegistryError(f"must be a counter (0 to 2^32), got {first_counter!r}",
                            field="first_counter", value=first_counter)
    now = int(time.time()) if now is None else now
    sealed = box.seal(did, bytes(key)) if key is not None and box is not None else None
    row = conn.execute("SELECT key_enc, prev_key_enc, key_rotated_at, key_first_counter "
                       "FROM devices WHERE device_id = ?", (did,)).fetchone()
    if row is not None and not replace:
        raise RegistryError(f"device {did} is already registered (use replace)",
                            field="device_id", value=did)
    if row is not None:
        prev = _keep_previous(box, did, key, tuple(row), now, first_counter)
        conn.execute(
            "UPDATE devices SET key_enc = ?, site = ?, channels = ?, calibration = ?, "
            "prev_key_enc = ?, key_rotated_at = ?, key_first_counter = ?, updated_at = ? "
            "WHERE device_id = ?",
            (sealed, site, json.dumps(chans), json.dumps(calib), *prev, now, did))
    else:
        conn.execute(
            "INSERT INTO devices (device_id, key_enc, site, channels, calibration, created_at, "
            "updated_at, downlink_counter) VALUES (?, ?, ?, ?, ?, ?, ?, "
            "COALESCE((SELECT counter FROM downlink_retired WHERE device_id = ?), 0))",
            (did, sealed, site, json.dumps(chans), json.dumps(calib), now, now, did))
    device = get_device(conn, did)
    assert device is not None  # just written in this transaction
    return device


def _keep_previous(box: KeyBox | None, did: str, key: bytes | None,
                   row: tuple[Any, ...], now: int,
                   first_counter: int | None = None) -> tuple[Any, Any, Any]:
    """(prev_key_enc, key_rotated_at, key_first_counter) after replacing the key of `row`."""
    old_enc, prev_enc, rotated_at, first = row
    if key is None or box is None:
        return None, None, None          # no key at all (plugin device): nothing to keep
    if old_enc is None:
        return None, None, None          # it had no key: nothing was sealed with one
    try:
        old = box.open(did, bytes(old_enc))
    except KeyBoxError as exc:
        # Cannot tell whether it changed; an unreadable key is of no use to ingest anyway.
        log.warning("replaced device key was unreadable; no previous key kept: %s", exc,
                    extra={"device": did})
        return None, now, None
    if hmac.compare_digest(old, bytes(key)):
        return prev_enc, rotated_at, first   # same key (settings only): nothing rotates
    # sealed with AAD = device id: moved as it is
    return bytes(old_enc), now, first_counter


def update_device(conn: sqlite3.Connection, device_id: int | str, *, site: str | None = None,
                  channels: dict[Any, Any] | None = None,
                  calibration: dict[str, Any] | None = None, now: int | None = None) -> Device:
    """Change a device's site, channel map or calibration; RegistryError if it is unknown."""
    did = format_device_id(device_id)
    sets: list[str] = []
    args: list[Any] = []
    if site is not None:
        sets.append("site = ?")
        args.append(site)
    if channels is not None:
        sets.append("channels = ?")
        args.append(json.dumps(validate_channels(channels)))
    if calibration is not None:
        sets.append("calibration = ?")
        args.append(json.dumps(calibration))
    sets.append("updated_at = ?")
    args.append(int(time.time()) if now is None else now)
    cur = conn.execute(f"UPDATE devices SET {', '.join(sets)} WHERE device_id = ?",
                       (*args, did))
    if cur.rowcount == 0:
        raise RegistryError(f"device {did} is not registered", field="device_id", value=did)
    device = get_device(conn, did)
    assert device is not None
    return device


_COLUMNS = (
    "device_id, key_enc IS NOT NULL AS has_key, site, channels, calibration, fw, config_hash, "
    "reset_cause, time_synced, csq, queue_depth, supply_mv, last_seen, last_peer, "
    "last_hello_at, downlink_counter, created_at, updated_at, "
    "prev_key_enc IS NOT NULL AS has_prev, key_rotated_at, key_first_counter, "
    # a stored frame at or above the limit: only the current key can have sealed it (the
    # board's counter never goes back). One seek on frames' UNIQUE (device_id, counter).
    "CASE WHEN prev_key_enc IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM frames f "
    "WHERE f.device_id = devices.device_id AND f.counter >= devices.key_first_counter) END "
    "AS rotation_confirmed"
)


def _row_to_device(row: sqlite3.Row | tuple[Any, ...]) -> Device:
    (did, has_key, site, channels, calibration, fw, config_hash, reset_cause, time_synced,
     csq, queue_depth, supply_mv, last_seen, last_peer, last_hello_at, downlink_counter,
     created_at, updated_at, has_prev, key_rotated_at, key_first_counter,
     rotation_confirmed) = tuple(row)
    return Device(
        device_id=did, site=site, channels=json.loads(channels),
        calibration=json.loads(calibration), has_key=bool(has_key), fw=fw,
        config_hash=config_hash, reset_cause=reset_cause,
        time_synced=None if time_synced is None else bool(time_synced), csq=csq,
        queue_depth=queue_depth, supply_mv=supply_mv, last_seen=last_seen,
        last_peer=last_peer, last_hello_at=last_hello_at, downlink_counter=downlink_counter,
        created_at=created_at, updated_at=updated_at, previous_kept=bool(has_prev),
        rotated_at=key_rotated_at, first_counter_since_rotation=key_first_counter,
        rotation_confirmed=None if rotation_confirmed is None else bool(rotation_confirmed),
    )


def get_device(conn: sqlite3.Connection, device_id: int | str) -> Device | None:
    """The registry row of `device_id`, or None."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM devices WHERE device_id = ?",
                       (format_device_id(device_id),)).fetchone()
    return _row_to_device(row) if row else None


def get_device_key(conn: sqlite3.Connection, box: KeyBox, device_id: int | str) -> bytes | None:
    """The clear key of a board, or None if the device is unknown or has no key."""
    did = format_device_id(device_id)
    row = conn.execute("SELECT key_enc FROM devices WHERE device_id = ?", (did,)).fetchone()
    if row is None or row[0] is None:
        return None
    return box.open(did, bytes(row[0]))


def all_device_keys(conn: sqlite3.Connection, box: KeyBox) -> dict[str, bytes]:
    """Every board's clear key by device id (warms the ingest key cache).

    A key that does not open (wrong secret file, copied row) is logged and left out, so one
    bad row cannot stop the gateway from serving every other board.
    """
    keys: dict[str, bytes] = {}
    for did, blob in conn.execute(
            "SELECT device_id, key_enc FROM devices WHERE key_enc IS NOT NULL"):
        try:
            keys[did] = box.open(did, bytes(blob))
        except KeyBoxError as exc:
            log.error("device key unreadable: %s", exc, extra={"device": did})
    return keys


def _open_previous(box: KeyBox, did: str, blob: Any, rotated_at: Any,
                   first: Any) -> PreviousKey | None:
    try:
        key = box.open(did, bytes(blob))
    except KeyBoxError as exc:
        log.error("previous device key unreadable: %s", exc, extra={"device": did})
        return None
    return PreviousKey(key, int(rotated_at or 0), None if first is None else int(first))


def get_previous_key(conn: sqlite3.Connection, box: KeyBox,
                     device_id: int | str) -> PreviousKey | None:
    """The key a board had before its key last changed, or None (none kept, or unreadable:
    logged). The caller decides whether it may still be used (grace period, counter limit)."""
    return get_device_keys(conn, box, device_id)[1]


def get_device_keys(conn: sqlite3.Connection, box: KeyBox, device_id: int | str
                    ) -> tuple[bytes | None, PreviousKey | None]:
    """(current key, previous key) of a board from one read; (None, None) if unknown.

    A current key that does not open raises KeyBoxError (as get_device_key); a previous key
    that does not open is logged and left out.
    """
    did = format_device_id(device_id)
    row = conn.execute("SELECT key_enc, prev_key_enc, key_rotated_at, key_first_counter "
                       "FROM devices WHERE device_id = ?", (did,)).fetchone()
    if row is None or row[0] is None:
        return None, None
    key = box.open(did, bytes(row[0]))
    prev = _open_previous(box, did, *row[1:]) if row[1] is not None else None
    return key, prev


def all_previous_keys(conn: sqlite3.Connection, box: KeyBox) -> dict[str, PreviousKey]:
    """Every kept previous key by device id (warms the ingest key cache with all_device_keys)."""
    out: dict[str, PreviousKey] = {}
    for did, blob, rotated_at, first in conn.execute(
            "SELECT device_id, prev_key_enc, key_rotated_at, key_first_counter FROM devices "
            "WHERE prev_key_enc IS NOT NULL AND key_enc IS NOT NULL"):
        prev = _open_previous(box, did, blob, rotated_at, first)
        if prev is not None:
            out[did] = prev
    return out


def note_new_key_counter(conn: sqlite3.Connection, device_id: int | str, counter: int, *,
                         rotated_at: int) -> bool:
    """Record that a frame with `counter` was accepted under the key set at `rotated_at`.

    Keeps the lowest such counter (old-key frames are only accepted below it); a call for an
    earlier key change (the key changed again meanwhile) changes nothing. True if it lowered it.
    """
    cur = conn.execute(
        "UPDATE devices SET key_first_counter = ? WHERE device_id = ? AND key_rotated_at = ? "
        "AND (key_first_counter IS NULL OR key_first_counter > ?)",
        (int(counter), format_device_id(device_id), int(rotated_at), int(counter)))
    return cur.rowcount > 0


def forget_previous_key(conn: sqlite3.Connection, device_id: int | str) -> bool:
    """Drop a board's previous key from the registry (e.g. it leaked); True if one was kept.

    The registry forgets it when the transaction commits. A running gateway's key cache
    (:class:`gateway.ingest.keys.KeyCache`) still holds the previous key it read before, and
    learns of the change only when it re-reads the board's keys: an old-key frame fails the
    current key first, which forces a re-read, but at most once per ``miss_ttl_s`` (5 s) per
    board; otherwise the cached entry is re-read after ``hit_ttl_s`` (60 s). So for up to 5 s
    after this call an old-key frame may still be opened with it, and it stays in the cache's
    memory for up to 60 s. Restarting the gateway drops it at once.
    """
    cur = conn.execute("UPDATE devices SET prev_key_enc = NULL WHERE device_id = ? AND "
                       "prev_key_enc IS NOT NULL", (format_device_id(device_id),))
    return cur.rowcount > 0


def max_stored_counter(conn: sqlite3.Connection, device_id: int | str) -> int | None:
    """The highest uplink frame counter stored for the device id, or None if it has none.

    The frames table keeps one frame per (device, counter), whatever the key: a board that
    starts again below this (its flash state erased, a new board under the same id) has its
    frames dropped as replays until its counter passes it. Provisioning moves the board's
    counter above it (provisioning/flow.py). Retention deletes old frame rows but raises the
    device's replay floor to their counters (gateway/store/frames.py), and a frame at or
    below the floor is a replay too: the floor counts as stored.
    """
    did = format_device_id(device_id)
    row = conn.execute("SELECT max(counter) FROM frames WHERE device_id = ?", (did,)).fetchone()
    stored = None if row is None or row[0] is None else int(row[0])
    floor = conn.execute("SELECT counter FROM replay_floors WHERE device_id = ?",
                         (did,)).fetchone()
    if floor is not None and (stored is None or int(floor[0]) > stored):
        return int(floor[0])
    return stored


def get_key_state(conn: sqlite3.Connection, device_id: int | str) -> KeyState | None:
    """The device's key columns as stored (sealed, never opened), or None if it is unknown."""
    row = conn.execute("SELECT key_enc, prev_key_enc, key_rotated_at, key_first_counter "
                       "FROM devices WHERE device_id = ?",
                       (format_device_id(device_id),)).fetchone()
    if row is None:
        return None
    key_enc, prev_enc, rotated_at, first = row
    return KeyState(None if key_enc is None else bytes(key_enc),
                    None if prev_enc is None else bytes(prev_enc), rotated_at, first)


def restore_key_state(conn: sqlite3.Connection, device_id: int | str, state: KeyState, *,
                      only_if: KeyState | None = None) -> bool:
    """Put the key columns back exactly as `state` (from :func:`get_key_state`): the undo of a
    key change the board never received. Site, channels and the downlink counter are not
    touched (downlink counters never go back).

    `only_if`: restore only while the row still holds that key and previous key (what the
    change being undone wrote), so a later change by someone else is never overwritten.
    True if restored; False if the device is unknown or `only_if` no longer holds.
    """
    did = format_device_id(device_id)
    if only_if is not None:
        now = get_key_state(conn, did)
        if now is None or now.key_enc != only_if.key_enc or (
                now.prev_key_enc != only_if.prev_key_enc) or now.rotated_at != only_if.rotated_at:
            return False
    cur = conn.execute(
        "UPDATE devices SET key_enc = ?, prev_key_enc = ?, key_rotated_at = ?, "
        "key_first_counter = ? WHERE device_id = ?",
        (state.key_enc, state.prev_key_enc, state.rotated_at, state.first_counter, did))
    return cur.rowcount > 0


def list_devices(conn: sqlite3.Connection) -> list[Device]:
    """All devices, ordered by id."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM devices ORDER BY device_id").fetchall()
    return [_row_to_device(r) for r in rows]


def remove_device(conn: sqlite3.Connection, device_id: int | str) -> bool:
    """Delete a device from the registry (its stored frames and readings stay); True if found.

    Its keys, the previous one too, go with the row: a board added again at this id starts
    with no previous key, so no key of the removed identity stays usable.
    """
    did = format_device_id(device_id)
    # Undelivered commands fail (rows stay, so a re-added board never sees a cmd_id reused).
    conn.execute(
        "UPDATE commands SET state = 'failed', result = ?, updated_at = ? "
        "WHERE device_id = ? AND state IN ('queued', 'sent')",
        (json.dumps({"status": "failed", "detail": 0, "reason": "device removed"}),
         int(time.time()), did))
    conn.execute(
        "INSERT INTO downlink_retired (device_id, counter) SELECT device_id, downlink_counter "
        "FROM devices WHERE device_id = ? ON CONFLICT (device_id) DO UPDATE SET "
        "counter = max(counter, excluded.counter)", (did,))
    return conn.execute("DELETE FROM devices WHERE device_id = ?", (did,)).rowcount > 0


def reserve_downlink_counters(conn: sqlite3.Connection, device_id: int | str, n: int) -> range:
    """Reserve `n` fresh downlink counters for `device_id`; persisted when the transaction commits.

    The stored value is the highest counter ever handed out; counters reserved but unused
    before a crash are skipped, never reused, so (key, counter) nonces never repeat.
    """
    if n < 1:
        raise RegistryError(f"must be at least 1, got {n}", field="n", value=n)
    did = format_device_id(device_id)
    row = conn.execute(
        "UPDATE devices SET downlink_counter = downlink_counter + ? WHERE device_id = ? "
        "RETURNING downlink_counter", (n, did)).fetchone()
    if row is None:
        raise RegistryError(f"device {did} is not registered", field="device_id", value=did)
    high = int(row[0])
    if high > _UINT32_MAX:
        raise RegistryError(
            f"downlink counter of {did} would pass 2^32-1 ({high}); rotate the device key",
            field="downlink_counter", value=high)
    return range(high - n + 1, high + 1)


def next_downlink_counter(conn: sqlite3.Connection, device_id: int | str) -> int:
    """Hand out one fresh downlink counter (see :func:`reserve_downlink_counters`)."""
    return reserve_downlink_counters(conn, device_id, 1).start
