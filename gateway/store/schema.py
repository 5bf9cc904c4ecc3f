"""The ingest tables: device registry, raw frames, cumulative readings, events, status, commands.

Registered with :func:`gateway.store.db.register_schema` on import (owner ``"ingest"``), so any
process that imports this module and then calls ``Database.open`` gets the tables. All times are
INTEGER Unix seconds (UTC). Board device ids are 8 lowercase hex digits (``"0000a1b2"``); input
plugins use ``"<plugin>:<name>"`` ids (``"modbus:sdm630-1"``).

``devices`` — the registry (:mod:`gateway.registry` reads and writes it)
    device_id TEXT PK; key_enc BLOB (the 16-byte AES-CCM device key sealed with the gateway
    secret, AES-256-GCM, AAD = device id; NULL for plugin devices); site TEXT; channels TEXT
    (JSON object: channel index as a decimal string → {"name", "kind": "electric"|"gas",
    "unit", ...calibration}); calibration TEXT (JSON, device-wide); fw, config_hash,
    reset_cause, time_synced (from the last HELLO); csq, queue_depth, supply_mv (from the last
    STATUS); last_seen, last_peer, last_hello_at; downlink_counter INTEGER (the highest downlink
    counter ever handed out — strictly increasing, survives restarts; see registry);
    created_at, updated_at. Key rotation (columns added after 0.1.0, see ADDED_COLUMNS and
    docs/decisions/016-key-rotation-grace.md): prev_key_enc BLOB (the key the board had before
    its key last changed, sealed exactly like key_enc, AAD = device id; kept so the board's
    backlog sealed with it can still be stored within a grace period); key_rotated_at INTEGER
    (when key_enc last changed; NULL if never); key_first_counter INTEGER (the lowest uplink
    counter accepted under key_enc since then: old-key frames are only accepted below it).

``frames`` — every authenticated uplink frame, byte for byte
    id INTEGER PK; device_id; counter; type (``"hello"``, ``"readings"``, ``"status"``,
    ``"event"``, ``"command_result"``); raw BLOB (NULL once pruned by retention);
    received_at; peer (``"ip:port"``). UNIQUE(device_id, counter): a byte-identical resend is a
    duplicate (re-acknowledged), a different frame under a stored counter is a replay.

``replay_floors`` — per device, the highest counter whose frame row retention deleted
    (gateway/store/frames.py): a frame at or below it is a replay too.

``readings`` — decoded cumulative registers, one row per channel and interval
    id INTEGER PK — **the normaliser's cursor: read ``WHERE id > :cursor ORDER BY id``**; ids
    only grow, and rows are only inserted (never updated) by the writer. device_id; channel TEXT
    (a board's channel index as decimal text, ``"0"``, matching the keys of ``devices.channels``;
    an input plugin's channel name); unit (wire unit ``"Wh"``, ``"Wh_export"``, ``"L"``,
    ``"pulse"``; ``""`` for input plugins: the unit comes from the plugin's channel config);
    interval_start; interval_s; register (cumulative value at the END of the interval, raw
    units); flags (bitmask, bit i = ``gateway.model.FLAG_NAMES[i]``: 0x01 partial,
    0x02 clock_unsynced, 0x04 power_loss, 0x08 sensor_fault, 0x10 rollover,
    0x20 register_reset; plugins may also set the later names); frame_counter (NULL for
    plugins); received_at. UNIQUE(device_id, channel, interval_start): the first value stored
    for an interval wins, a retransmission never duplicates.

``device_events`` — EVENT frame entries (same cursor convention as readings: ``id > :cursor``)
    id INTEGER PK; device_id; frame_counter; idx (position in the frame); time; code; channel;
    value; received_at. UNIQUE(device_id, frame_counter, idx).

``device_status`` — the latest STATUS per device (older counters never overwrite newer ones)
    device_id PK; frame_counter; time; supply_mv; battery_mv; csq; temp_dc (tenths of °C);
    uptime_s; free_heap; queue_depth; queue_dropped; boot_count; received_at.

``commands`` — the per-device downlink command queue (:mod:`gateway.commands`)
    id INTEGER PK AUTOINCREMENT; device_id; cmd_id (the u16 wire id, 1..65535, per device,
    allocated in sequence and wrapping); name; params TEXT (JSON object of integers); state
    ``queued`` → ``sent`` → ``done`` | ``failed``; send_count (ACKs that carried it); result
    TEXT (JSON ``{"status", "detail"}`` from COMMAND_RESULT); result_seq (1, 2, 3 ... in the
    order results were recorded — follow finished commands with ``result_seq > :cursor``);
    ref (the requester's own id, e.g. the MQTT ``cmd_id``); created_at; updated_at.
"""

from __future__ import annotations

from gateway.store.db import AddColumn, register_schema

__all__ = ["ADDED_COLUMNS", "SCHEMA_OWNER", "SCHEMA_SQL"]

SCHEMA_OWNER = "ingest"

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS devices (
    device_id        TEXT PRIMARY KEY,
    key_enc          BLOB,
    site             TEXT NOT NULL DEFAULT '',
    channels         TEXT NOT NULL DEFAULT '{}',
    calibration      TEXT NOT NULL DEFAULT '{}',
    fw               TEXT,
    config_hash      INTEGER,
    reset_cause      TEXT,
    time_synced      INTEGER,
    csq              INTEGER,
    queue_depth      INTEGER,
    supply_mv        INTEGER,
    last_seen        INTEGER,
    last_peer        TEXT,
    last_hello_at    INTEGER,
    downlink_counter INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    prev_key_enc     BLOB,
    key_rotated_at   INTEGER,
    key_first_counter INTEGER
);

CREATE TABLE IF NOT EXISTS frames (
    id          INTEGER PRIMARY KEY,
    device_id   TEXT NOT NULL,
    counter     INTEGER NOT NULL,
    type        TEXT NOT NULL,
    raw         BLOB,
    received_at INTEGER NOT NULL,
    peer        TEXT NOT NULL DEFAULT '',
    UNIQUE (device_id, counter)
);
CREATE INDEX IF NOT EXISTS frames_received ON frames (received_at);

CREATE TABLE IF NOT EXISTS readings (
    id             INTEGER PRIMARY KEY,
    device_id      TEXT NOT NULL,
    channel        TEXT NOT NULL,
    unit           TEXT NOT NULL DEFAULT '',
    interval_start INTEGER NOT NULL,
    interval_s     INTEGER NOT NULL,
    register       INTEGER NOT NULL,
    flags          INTEGER NOT NULL DEFAULT 0,
    frame_counter  INTEGER,
    received_at    INTEGER NOT NULL,
    UNIQUE (device_id, channel, interval_start)
);
CREATE INDEX IF NOT EXISTS readings_frame ON readings (device_id, frame_counter);

CREATE TABLE IF NOT EXISTS device_events (
    id            INTEGER PRIMARY KEY,
    device_id     TEXT NOT NULL,
    frame_counter INTEGER NOT NULL,
    idx           INTEGER NOT NULL,
    time          INTEGER NOT NULL,
    code          TEXT NOT NULL,
    channel       INTEGER,
    value         INTEGER,
    received_at   INTEGER NOT NULL,
    UNIQUE (device_id, frame_counter, idx)
);

CREATE TABLE IF NOT EXISTS device_status (
    device_id     TEXT PRIMARY KEY,
    frame_counter INTEGER NOT NULL,
    time          INTEGER,
    supply_mv     INTEGER,
    battery_mv    INTEGER,
    csq           INTEGER,
    temp_dc       INTEGER,
    uptime_s      INTEGER,
    free_heap     INTEGER,
    queue_depth   INTEGER,
    queue_dropped INTEGER,
    boot_count    INTEGER,
    received_at   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS commands (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id  TEXT NOT NULL,
    cmd_id     INTEGER NOT NULL CHECK (cmd_id BETWEEN 1 AND 65535),
    name       TEXT NOT NULL,
    params     TEXT NOT NULL DEFAULT '{}',
    state      TEXT NOT NULL DEFAULT 'queued'
               CHECK (state IN ('queued', 'sent', 'done', 'failed')),
    send_count INTEGER NOT NULL DEFAULT 0,
    result     TEXT,
    result_seq INTEGER,
    ref        TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS commands_open ON commands (device_id)
    WHERE state IN ('queued', 'sent');
CREATE INDEX IF NOT EXISTS commands_results ON commands (result_seq) WHERE result_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS commands_wire_id ON commands (device_id, cmd_id);

-- Per device, the highest uplink counter whose frame row retention deleted: at or below it, a
-- frame is a replay (its original row is gone, so "already stored" can no longer be seen).
CREATE TABLE IF NOT EXISTS replay_floors (
    device_id TEXT PRIMARY KEY,
    counter   INTEGER NOT NULL
) WITHOUT ROWID;
"""

# Columns added after the first release: databases created before get them when they open.
ADDED_COLUMNS = (
    AddColumn("devices", "prev_key_enc", "BLOB"),
    AddColumn("devices", "key_rotated_at", "INTEGER"),
    AddColumn("devices", "key_first_counter", "INTEGER"),
)

register_schema(SCHEMA_OWNER, SCHEMA_SQL, add_columns=ADDED_COLUMNS)
