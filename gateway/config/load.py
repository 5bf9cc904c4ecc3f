"""gateway.toml: load, validate every key with its path, and return typed settings.

`check_config(path)` lists EVERY problem (key path, bad value, what is expected, what to do);
`load_config(path)` returns a :class:`Config` or raises :class:`ConfigError` carrying them all.
Unknown keys are problems too: a typo must not silently fall back to a default.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from gateway import site_facts
from gateway.config_fields import Bad, Table, as_bool, as_choice, as_int, as_number, as_path, as_str

__all__ = [
    "Config", "ConfigError", "GatewaySettings", "IngestSettings", "PluginSettings", "Problem",
    "SiteSettings", "StorageSettings", "check_config", "load_config",
]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SECTIONS = ("gateway", "ingest", "storage", "sites", "mqtt", "plugins")
PLUGIN_HOST_KEYS = ("enabled", "queue_size", "hook_timeout_s")
DEFAULT_GAS_KWH_PER_SMC = 10.69   # ARERA standard PCS 0.03852 GJ/Smc = 10.70 kWh/Smc


def check_config(path: Path | str, *, plugins: dict[str, type] | None = None) -> list[Problem]:
    """Every problem in the file at `path` (an empty list means the config is good)."""
    return _load(Path(path), plugins)[1]


def load_config(path: Path | str, *, plugins: dict[str, type] | None = None) -> Config:
    """The validated config; raises ConfigError listing every problem."""
    config, problems = _load(Path(path), plugins)
    if problems or config is None:
        raise ConfigError(Path(path), problems)
    return config


def _load(path: Path, plugins: dict[str, type] | None) -> tuple[Config | None, list[Problem]]:
    problems: list[Problem] = []
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [Problem("(file)", f"{path} does not exist",
                              hint="give the right --config path or copy "
                                   "deploy/gateway.example.toml")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem("(file)", f"cannot read {path}: {exc}",
                              hint="check the file's permissions")]
    except tomllib.TOMLDecodeError as exc:
        return None, [Problem("(file)", f"not valid TOML: {exc}", expected="TOML syntax",
                              hint="fix the line shown; strings need quotes")]
    root = Table(raw, "", problems)
    for key in raw:
        if key not in SECTIONS:
            root.unknown(key, SECTIONS)
    base = path.parent
    sites = _sites(root.table("sites"), problems)
    gateway = _gateway(root.table("gateway"), sites, base)
    ingest = _ingest(root.table("ingest"))
    storage = _storage(root.table("storage"))
    mqtt = _mqtt(raw.get("mqtt", {}), problems)
    plugin_settings = _plugins(root.table("plugins"), problems, plugins)
    config = Config(path, gateway, ingest, storage, sites, mqtt, plugin_settings)
    return config, problems


def _gateway(t: Table, sites: dict[str, SiteSettings], base: Path) -> GatewaySettings:
    default_site = next(iter(sites)) if len(sites) == 1 else None
    site = t.take("site", default_site, as_str())
    if site is None:
        t.problem("site", "missing", expected="the name of one of the [sites.<name>] tables",
                  hint="add site = \"<name>\" under [gateway] (needed with several sites)")
    elif sites and site not in sites:
        t.problem("site", f"{site!r} is not a configured site",
                  expected=" or ".join(sorted(sites)) or "a [sites.<name>] table",
                  hint="add a [sites.<name>] table or correct the name", value=site)
    state_dir = t.take("state_dir", Path("/var/lib/meterkit"), as_path(base))
    settings = GatewaySettings(
        site=site or "",
        state_dir=state_dir,
        db_path=t.take("db_path", state_dir / "gateway.db", as_path(base)),
        secret_file=t.take("secret_file", Path("/etc/meterkit/gateway.secret"), as_path(base)),
        log_level=t.take("log_level", "INFO", as_choice(*LOG_LEVELS, upper=True)),
        log_format=t.take("log_format", "kv", as_choice("kv", "json")),
        live_window_s=t.take("live_window_s", 7200, as_int(900, 30 * 86400, "seconds")),
        status_interval_s=t.take("status_interval_s", 5.0, as_number(0.5, 3600, "seconds")),
    )
    t.finish()
    return settings


def _ingest(t: Table) -> IngestSettings:
    settings = IngestSettings(
        host=t.take("host", "0.0.0.0", as_str()),
        port=t.take("port", 4590, as_int(1, 65535, "a TCP port")),
        idle_timeout_s=t.take("idle_timeout_s", 1200.0, as_number(1, 86400, "seconds")),
        max_connections=t.take("max_connections", 500, as_int(1, 100_000, "a count")),
        max_frame_bytes=t.take("max_frame_bytes", 1047, as_int(23, 1047, "a frame size")),
        max_pending_frames=t.take("max_pending_frames", 10000, as_int(10, 10**7, "a count")),
        group_commit_ms=t.take("group_commit_ms", 50, as_int(0, 5000, "milliseconds")),
    )
    t.finish()
    return settings


def _storage(t: Table) -> StorageSettings:
    settings = StorageSettings(
        synchronous=t.take("synchronous", "FULL", as_choice("FULL", "NORMAL", "EXTRA",
                                                            upper=True)),
        retention_days=t.take("retention_days", 400, as_int(1, 36500, "days")),
        max_db_mb=t.take("max_db_mb", 2048, as_int(16, 10**7, "megabytes")),
    )
    t.finish()
    return settings


def _sites(t: Table, problems: list[Problem]) -> dict[str, SiteSettings]:
    sites: dict[str, SiteSettings] = {}
    for name in list(t.data):
        site = t.table(name)
        resolved = _site(name, site)
        site.finish()
        if resolved is not None:
            sites[name] = resolved
    if not t.data:
        t.problem("", "no site configured", expected="at least one [sites.<name>] table",
                  hint="add [sites.<name>] with municipality = \"<COMUNE>\"")
    return sites


def _site(name: str, t: Table) -> SiteSettings | None:
    municipality = t.take("municipality", None, as_str())
    zone = t.take("zone", None, as_choice(*"ABCDEF", upper=True))
    degree_days = t.take("degree_days", None, as_int(0, 10000, "degree days (GG)"))
    altitude = t.take("altitude_m", None, as_int(-10, 5000, "metres above sea level"))
    facts: dict[str, Any] = {}
    if municipality is not None:
        try:
            facts = site_facts.lookup(municipality)
        except site_facts.UnknownMunicipality as exc:
            t.problem("municipality", f"{municipality!r} is not in the DPR 412 table",
                      expected=exc.suggestion or "an Italian municipality name",
                      hint="check the spelling, or give zone, degree_days and altitude_m",
                      value=municipality)
            return None
    resolved = {"zone": zone or facts.get("zone"), "degree_days": degree_days
                if degree_days is not None else facts.get("degree_days"),
                "altitude_m": altitude if altitude is not None else facts.get("altitude_m")}
    missing = [k for k, v in resolved.items() if v is None]
    if missing:
        t.problem(missing[0], "missing", expected="a value (or a municipality to look it up)",
                  hint=f"give municipality, or all of {', '.join(missing)}")
    settings = SiteSettings(
        name=name, municipality=municipality, zone=resolved["zone"] or "E",
        degree_days=resolved["degree_days"] or 0, altitude_m=resolved["altitude_m"] or 0,
        gas_kwh_per_smc=t.take("gas_kwh_per_smc", site_facts.DEFAULT_GAS_KWH_PER_SMC,
                               as_number(5.0, 15.0, "kWh per Smc")),
        gas_coefficient_c=t.take("gas_coefficient_c", None, as_number(0.5, 1.5, "a ratio")),
        holidays=tuple(t.take("holidays", [], _holidays)),
    )
    return None if missing else settings


def _holidays(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise Bad(f"{value!r} is not a list", "a list of \"MM-DD\" or \"YYYY-MM-DD\" strings")
    out = []
    for item in value:
        text = str(item)
        try:
            date.fromisoformat(text if text.count("-") == 2 else f"2024-{text}")
        except ValueError:
            raise Bad(f"{item!r} is not a date", "\"MM-DD\" (yearly) or \"YYYY-MM-DD\"") from None
        out.append(text)
    return out


def _mqtt(raw: Any, problems: list[Problem]) -> Any:
    validate = _uplink_validator()
    if validate is None:
        # The uplink package is not installed in this build: keep the table as given.
        return raw
    settings, found = validate(raw)
    problems.extend(p if isinstance(p, Problem) else Problem("mqtt", str(p)) for p in found)
    return settings


def _uplink_validator() -> Callable[[Any], tuple[Any, list[Any]]] | None:
    try:
        module = importlib.import_module("gateway.uplink.config")
    except ModuleNotFoundError as exc:
        if exc.name not in ("gateway.uplink", "gateway.uplink.config"):
            raise
        return None
    return getattr(module, "validate_mqtt_config", None)


def _plugins(t: Table, problems: list[Problem],
             known: dict[str, type] | None) -> dict[str, PluginSettings]:
    if known is None:
        from gateway.plugins.host import discover_plugins

        known = discover_plugins()
    out: dict[str, PluginSettings] = {}
    for name in list(t.data):
        pt = t.table(name)
        enabled = pt.take("enabled", True, as_bool())
        queue_size = pt.take("queue_size", 1000, as_int(1, 10**6, "a queue length"))
        timeout = pt.take("hook_timeout_s", 30.0, as_number(0.1, 3600, "seconds"))
        options = {k: v for k, v in pt.data.items() if k not in PLUGIN_HOST_KEYS}
        cls = known.get(name)
        if cls is None:
            if enabled:
                close = difflib.get_close_matches(name, list(known), n=1)
                pt.problem("", f"no plugin named {name!r} is installed",
                           expected=" or ".join(sorted(known)) or "an installed plugin",
                           hint=(f"did you mean {close[0]!r}? " if close else "")
                           + "install it, or set enabled = false")
            continue
        _plugin_options(cls, name, options, problems)
        out[name] = PluginSettings(name, enabled, options, queue_size, timeout)
    return out


def _plugin_options(cls: type, name: str, options: dict[str, Any],
                    problems: list[Problem]) -> None:
    check = getattr(cls, "validate_config", None)
    if check is None:
        if options:
            problems.append(Problem(f"plugins.{name}", f"unknown keys {sorted(options)}",
                                    expected="no options", hint="this plugin takes no options"))
        return
    try:
        found = check(dict(options))
    except Exception as exc:  # a plugin's bug must not hide the rest of the report
        logging.getLogger("gateway.config").exception("plugin %s validate_config failed", name)
        found = [f"validate_config failed: {exc!r}"]
    for text in found:
        problems.append(Problem(f"plugins.{name}.{text}" if not str(text).startswith(
            f"plugins.{name}") else str(text), "", hint=""))
