"""The validated gateway settings as typed, frozen dataclasses, and the Problem they report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Config", "ConfigError", "GatewaySettings", "IngestSettings", "PluginSettings", "Problem",
    "SiteSettings", "StorageSettings",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in the config: where, what was found, what was expected, what to do."""

    key: str
    message: str
    expected: str = ""
    hint: str = ""
    value: Any = None

    def __str__(self) -> str:
        text = f"{self.key}: {self.message}"
        if self.expected:
            text += f" (expected {self.expected})"
        return text + (f"; {self.hint}" if self.hint else "")

    def as_dict(self) -> dict[str, Any]:
        value = self.value if isinstance(self.value, str | int | float | bool) else None
        return {"key": self.key, "message": self.message, "expected": self.expected,
                "hint": self.hint, "value": value}


class ConfigError(Exception):
    """The config file has problems; `problems` lists every one of them."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s)\n{lines}")
        self.path = path
        self.problems = problems


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    site: str                       # default site of devices registered without one
    state_dir: Path                 # status.json and other runtime state
    db_path: Path
    secret_file: Path               # gateway master secret (device keys derive from it)
    log_level: str = "INFO"
    log_format: str = "kv"          # "kv" (key=value) or "json" lines
    live_window_s: int = 7200       # readings whose interval ended earlier are "backfill"
    status_interval_s: float = 5.0  # how often status.json is refreshed


@dataclass(frozen=True, slots=True)
class IngestSettings:
    host: str = "0.0.0.0"
    port: int = 4590
    idle_timeout_s: float = 300.0       # no bytes for this long: close the connection
    auth_timeout_s: float = 60.0        # no authentic frame this long after connecting: close
    max_connections: int = 1000
    max_frames_per_s: float = 100.0     # per connection, after `burst`
    burst: int = 200
    max_buffered_bytes: int = 65536     # per connection: frames awaiting commit + partial frame
    max_garbage_bytes: int = 16384      # bytes skipped since the last good frame: close
    max_failures: int = 5               # consecutive dropped frames: close
    drain_timeout_s: float = 10.0       # on shutdown/EOF: wait this long to ACK in-flight frames
    writer_queue: int = 4096            # frames waiting for the writer: back-pressure beyond it
    writer_max_batch: int = 512         # frames per group commit
    writer_linger_ms: float = 2.0       # wait this long for more frames before committing
    previous_key_days: float = 30.0     # after a key rotation: the old key opens the backlog


@dataclass(frozen=True, slots=True)
class StorageSettings:
    synchronous: str = "FULL"
    retention_days: int = 400       # readings, series, plugin results, events, frame rows
                                    # (only once normalised and delivered upstream)
    raw_days: int = 30              # raw frame bytes (the rows stay for duplicate detection)
    outbox_keep_days: int = 7       # delivered outbox messages (pending ones are never pruned)
    max_db_mb: int = 2048


@dataclass(frozen=True, slots=True)
class SiteSettings:
    name: str
    municipality: str | None
    province: str | None
    zone: str                       # DPR 412 climate zone A-F
    degree_days: int                # GG, base 20 °C
    altitude_m: int
    gas_kwh_per_smc: float          # calorific value used for Smc -> kWh
    gas_coefficient_c: float | None = None   # explicit ARERA C; None = from altitude/GG
    holidays: tuple[str, ...] = ()  # extra closing days for schedules: "MM-DD" or "YYYY-MM-DD"
    band_holidays: tuple[str, ...] = ()  # extra F3 days for ARERA bands (e.g. a new holiday)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class PluginSettings:
    name: str
    enabled: bool
    options: dict[str, Any]         # the plugin's own keys (validated by its validate_config)
    queue_size: int = 1000
    hook_timeout_s: float = 30.0


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    gateway: GatewaySettings
    ingest: IngestSettings
    storage: StorageSettings
    sites: dict[str, SiteSettings]
    mqtt: Any                       # gateway.uplink.config.MqttConfig, None = no upstream
    plugins: dict[str, PluginSettings] = field(default_factory=dict)

    @property
    def site(self) -> SiteSettings:
        return self.sites[self.gateway.site]

    @property
    def mqtt_prefix(self) -> str | None:
        """Topic prefix of upstream messages; None without [mqtt] (nothing goes upstream)."""
        return None if self.mqtt is None else str(self.mqtt.prefix)
