"""Ingest counters: connections, frames received/acknowledged, frames dropped per reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["DROP_REASONS", "IngestStats"]

# Why a frame was dropped (not stored, not acknowledged). The protocol's ProtocolError reasons
# plus the gateway's own. old_key_*: authentic under the board's previous key (before its last
# key change) but no longer acceptable: the grace period is over, or its counter is not below
# the first counter the board used with its new key (docs/decisions/016-key-rotation-grace.md).
# truncated: the connection ended (EOF or reset) in the middle of a frame.
DROP_REASONS = (
    "unknown_device", "bad_tag", "malformed_payload", "replay", "device_mismatch",
    "downlink_frame", "key_unreadable", "storage_refused", "storage_error",
    "old_key_expired", "old_key_counter", "truncated",
)


@dataclass
class IngestStats:
    """Live counters of the ingest server; `snapshot()` is what health/metrics publish."""

    connections_open: int = 0
    connections_total: int = 0
    connections_rejected: int = 0       # over max_connections
    frames_received: int = 0            # complete frames out of the deframer
    frames_committed: int = 0           # stored now or earlier (duplicates)
    frames_duplicate: int = 0
    frames_old_key: int = 0             # opened with the board's previous key (its backlog)
    acks_sent: int = 0
    garbage_bytes: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    closed: Counter[str] = field(default_factory=Counter)  # why connections ended

    def snapshot(self) -> dict[str, object]:
        return {
            "connections_open": self.connections_open,
            "connections_total": self.connections_total,
            "connections_rejected": self.connections_rejected,
            "frames_received": self.frames_received,
            "frames_committed": self.frames_committed,
            "frames_duplicate": self.frames_duplicate,
            "frames_old_key": self.frames_old_key,
            "acks_sent": self.acks_sent,
            "garbage_bytes": self.garbage_bytes,
            "dropped": dict(self.dropped),
            "closed": dict(self.closed),
        }
