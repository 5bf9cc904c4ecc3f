"""The plugin contract: every hook a gateway plugin may implement, one docstring each.

A plugin is a class registered in the entry-point group ``meterkit.plugins``; the operator enables
it in ``gateway.toml`` under ``[plugins.<name>]``. The host instantiates it as
``PluginClass(config, context)`` where ``config`` is that table (validated by the plugin's
``validate_config``) and ``context`` is a :class:`PluginContext`. Every hook is optional; all but
``validate_config`` and ``snapshot`` are async. Hooks run in the plugin's own task with its own
bounded queue: a slow or failing plugin never blocks ingest; its exceptions (``SystemExit``
included) are caught, logged and counted by the host. The one thing the host cannot contain
is blocking the event loop (CPU-heavy work, ``time.sleep``, blocking I/O): do that in
``asyncio.to_thread``. Decisions: ADR 005.

`tests/gateway/service/test_hookspecs.py` fails when a hook here lacks a docstring or when the
host calls a hook that is not listed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from gateway.model import DeviceEvent, PluginResult, Reading, ReadingBatch

__all__ = [
    "ENTRY_POINT_GROUP", "HOOKS", "SNAPSHOT", "InputReading", "PluginContext", "PluginError",
    "PluginSpec",
]

ENTRY_POINT_GROUP = "meterkit.plugins"


class PluginError(Exception):
    """A plugin's config or operation is wrong; ``key`` is the config path when it applies."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key


class InputReading(Protocol):
    """What an input plugin submits: a cumulative register at an interval end (like a frame)."""

    device: str
    channel: str
    end: datetime          # interval end, UTC
    length_s: int
    register: int          # raw units of the channel (Wh, L, pulse)
    flags: frozenset[str]


class PluginContext(Protocol):
    """What the host gives a plugin. Data comes in through hooks; this is the way back out."""

    name: str
    logger: Any  # logging.Logger
    state_dir: Path  # <state_dir>/plugins/<name>: only this plugin writes here (own SQLite, caches)

    async def publish(self, result: PluginResult) -> None:
        """Store a result and queue it upstream (same transaction); other plugins see it too."""

    async def submit_readings(self, readings: Sequence[InputReading]) -> None:
        """Input plugins only: feed cumulative registers into the same path as board frames."""

    async def register_device(
        self, device_id: str, *, channels: dict[str, dict[str, Any]], site: str | None = None
    ) -> None:
        """Input plugins only: create or update its own device "<plugin>:<name>" (no key)."""

    async def series(
        self, *, device: str, channel: str, start: datetime, end: datetime
    ) -> list[Reading]:
        """Read-only query of normalised readings in [start, end) of one channel (its name, e.g.
        "el1"), ordered by interval start."""

    def sites(self) -> dict[str, dict[str, Any]]:
        """The configured sites (name, municipality, altitude, degree days, climate zone...)."""


class PluginSpec(Protocol):
    """Every hook a plugin may define; the host calls only those the plugin has."""

    schedule_s: int | None  # period of on_schedule in seconds (class attribute), None = never

    @classmethod
    def validate_config(cls, config: dict[str, Any],
                        sites: dict[str, dict[str, Any]] | None = None) -> list[str]:
        """Problems in the plugin's config table, each starting with its key path.

        `sites` is optional in a plugin's signature: when it declares it, the config check
        passes the configured sites (as ``context.sites()`` gives them), so site names in the
        plugin's options are checked by ``gateway check-config``, not only at start."""

    async def start(self) -> None:
        """Open resources; called once, before any other hook."""

    async def on_readings(self, batch: ReadingBatch) -> None:
        """Normalised readings that were just committed (live data and backfill alike)."""

    async def on_event(self, event: DeviceEvent) -> None:
        """An event a board reported in an EVENT frame (power fail/restore, tamper, ...)."""

    async def on_result(self, result: PluginResult) -> None:
        """Another plugin published a result (e.g. a baseline the alert plugin compares with)."""

    async def on_schedule(self, now: datetime) -> None:
        """Called every ``schedule_s`` seconds of wall-clock time, aligned to the period."""

    async def run(self) -> None:
        """A long-running task (an input plugin's poll loop); restarted with backoff on error."""

    async def stop(self) -> None:
        """Release resources on shutdown; must return within 5 seconds."""

    def snapshot(self) -> dict[str, Any]:
        """Optional, sync and fast: the plugin's own counters for status.json (JSON values)."""


SNAPSHOT = "snapshot"   # not a queued hook: the health task calls it directly, every refresh

HOOKS: tuple[str, ...] = tuple(
    name for name in vars(PluginSpec)
    if not name.startswith("_") and name not in ("schedule_s", SNAPSHOT)
)
