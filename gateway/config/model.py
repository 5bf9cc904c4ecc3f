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
    idle_timeout_s: float = 1200.0
    max_connections: int = 500
    max_frame_bytes: int = 1047     # 15 header + 1024 body + 8 tag
    max_pending_frames: int = 10000 # writer queue bound: back-pressure beyond it
    group_commit_ms: int = 50       # writer waits this long to batch frames into one commit


@dataclass(frozen=True, slots=True)
class StorageSettings:
    synchronous: str = "FULL"
    retention_days: int = 400
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
    holidays: tuple[str, ...] = ()  # extra holidays: "MM-DD" every year or "YYYY-MM-DD"

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
    mqtt: Any                       # the uplink's own settings object, or the raw table
    plugins: dict[str, PluginSettings] = field(default_factory=dict)

    @property
    def site(self) -> SiteSettings:
        return self.sites[self.gateway.site]
