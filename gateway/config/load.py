"""gateway.toml: load, validate every key with its path, and return typed settings.

`check_config(path)` lists EVERY problem (key path, bad value, what is expected, what to do);
`load_config(path)` returns a :class:`Config` or raises :class:`ConfigError` carrying them all.
Unknown keys are problems too: a typo must not silently fall back to a default.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.config.fields import (
    Bad,
    Table,
    as_bool,
    as_choice,
    as_int,
    as_number,
    as_path,
    as_str,
)
from gateway.config.model import (
    Config,
    ConfigError,
    GatewaySettings,
    IngestSettings,
    PluginSettings,
    Problem,
    SiteSettings,
    StorageSettings,
)
from gateway.normalise.errors import (
    AmbiguousMunicipalityError,
    NormaliseError,
    UnknownMunicipalityError,
)
from gateway.normalise.gas import DEFAULT_PCI_KWH_PER_SMC
from gateway.normalise.holidays_it import parse_extra_dates
from gateway.normalise.sites import site_facts
from gateway.uplink.config import validate_mqtt

__all__ = ["check_config", "load_config"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SECTIONS = ("gateway", "ingest", "storage", "sites", "mqtt", "plugins")
PLUGIN_HOST_KEYS = ("enabled", "queue_size", "hook_timeout_s")


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
    sites_table = root.table("sites")
    sites = _sites(sites_table)
    gateway = _gateway(root.table("gateway"), list(sites_table.data), base)
    ingest = _ingest(root.table("ingest"))
    storage = _storage(root.table("storage"))
    mqtt = _mqtt(raw, gateway.site, base, problems)
    plugin_settings = _plugins(root.table("plugins"), problems, plugins,
                               {name: s.as_dict() for name, s in sites.items()})
    config = Config(path, gateway, ingest, storage, sites, mqtt, plugin_settings)
    return config, problems


def _gateway(t: Table, sites: list[str], base: Path) -> GatewaySettings:
    default_site = sites[0] if len(sites) == 1 else None
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
        idle_timeout_s=t.take("idle_timeout_s", 300.0, as_number(1, 86400, "seconds")),
        auth_timeout_s=t.take("auth_timeout_s", 60.0, as_number(1, 86400, "seconds")),
        max_connections=t.take("max_connections", 1000, as_int(1, 100_000, "a count")),
        max_frames_per_s=t.take("max_frames_per_s", 100.0, as_number(0.1, 1e6, "a rate")),
        burst=t.take("burst", 200, as_int(1, 1_000_000, "a frame count")),
        max_buffered_bytes=t.take("max_buffered_bytes", 65536,
                                  as_int(1047, 64 * 2**20, "a size in bytes")),
        max_garbage_bytes=t.take("max_garbage_bytes", 16384, as_int(1, 2**30, "a byte count")),
        max_failures=t.take("max_failures", 5, as_int(1, 10_000, "a count")),
        drain_timeout_s=t.take("drain_timeout_s", 10.0, as_number(0, 600, "seconds")),
        writer_queue=t.take("writer_queue", 4096, as_int(1, 10**7, "a queue length")),
        writer_max_batch=t.take("writer_max_batch", 512, as_int(1, 100_000, "a batch size")),
        writer_linger_ms=t.take("writer_linger_ms", 2.0, as_number(0, 1000, "milliseconds")),
        previous_key_days=t.take("previous_key_days", 30.0, as_number(0, 3650, "days")),
    )
    t.finish()
    return settings


def _storage(t: Table) -> StorageSettings:
    settings = StorageSettings(
        synchronous=t.take("synchronous", "FULL", as_choice("FULL", "NORMAL", "EXTRA",
                                                            upper=True)),
        retention_days=t.take("retention_days", 400, as_int(1, 36500, "days")),
        raw_days=t.take("raw_days", 30, as_int(1, 36500, "days")),
        outbox_keep_days=t.take("outbox_keep_days", 7, as_int(1, 36500, "days")),
        max_db_mb=t.take("max_db_mb", 2048, as_int(16, 10**7, "megabytes")),
    )
    t.finish()
    return settings


def _sites(t: Table) -> dict[str, SiteSettings]:
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
    province = t.take("province", None, as_str())
    given = {
        "zone": t.take("zone", None, as_choice(*"ABCDEF", upper=True)),
        "degree_days": t.take("degree_days", None, as_int(0, 10000, "degree days (GG)")),
        "altitude_m": t.take("altitude_m", None, as_int(-10, 4000, "metres above sea level")),
    }
    gas_kwh = t.take("gas_kwh_per_smc", DEFAULT_PCI_KWH_PER_SMC,
                     as_number(5.0, 15.0, "kWh per Smc"))
    gas_c = t.take("gas_coefficient_c", None, as_number(0.51, 1.49, "a correction coefficient"))
    holidays = t.take("holidays", (), _dates(f"sites.{name}.holidays"))
    band_holidays = t.take("band_holidays", (), _dates(f"sites.{name}.band_holidays"))
    facts: dict[str, Any] = {}
    if municipality is not None:
        try:
            facts = municipality_facts(municipality, province)
        except Bad as bad:
            t.problem("municipality", bad.message, expected=bad.expected, hint=bad.hint,
                      value=municipality)
            return None
    resolved = {k: v if v is not None else facts.get(k) for k, v in given.items()}
    missing = [k for k, v in resolved.items() if v is None]
    for key in missing:
        t.problem(key, "missing", expected="a value, or a municipality to look it up",
                  hint=f"give municipality = \"<COMUNE>\" or {key} under [sites.{name}]")
    if missing:
        return None
    return SiteSettings(name, municipality, province, resolved["zone"], resolved["degree_days"],
                        resolved["altitude_m"], gas_kwh, gas_c, holidays, band_holidays)


def municipality_facts(name: str, province: str | None = None) -> dict[str, Any]:
    """Zone, degree days and altitude of a municipality from the DPR 412 table (Bad if not)."""
    try:
        facts = site_facts(name, province=province)
    except UnknownMunicipalityError as exc:
        close = ", ".join(exc.suggestions)
        raise Bad(f"{name!r} is not in the DPR 412/93 table", "a municipality of Annex A",
                  f"did you mean {close}?" if close else "check the spelling") from None
    except AmbiguousMunicipalityError as exc:
        raise Bad(f"{name!r} names several municipalities", exc.expected,
                  'add province = "<XX>" to the site') from None
    return {"zone": facts.zone, "degree_days": facts.degree_days, "altitude_m": facts.altitude_m}


def _dates(key_path: str) -> Callable[[Any], tuple[str, ...]]:
    """Extra holidays: a list of "MM-DD" (every year) or "YYYY-MM-DD" (once)."""
    def convert(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise Bad(f"{value!r} is not a list", 'a list like ["12-07", "2026-06-02"]')
        try:
            parse_extra_dates(value, key_path)
        except NormaliseError as exc:
            raise Bad(f"{exc.value!r} at {exc.field} is not a date", exc.expected) from None
        return tuple(str(v).strip() for v in value)
    return convert


def _mqtt(raw: dict[str, Any], site: str, base: Path, problems: list[Problem]) -> Any:
    if "mqtt" not in raw:
        return None  # no upstream: data stays in the local database (logged at start)
    settings, found = validate_mqtt(raw["mqtt"], site=site or None, base_dir=base)
    problems.extend(_problem_from_text(text, "mqtt") for text in found)
    return settings


def _problem_from_text(text: str, section: str) -> Problem:
    """A "key.path: message" string from another module's validator as a Problem."""
    key, sep, message = str(text).partition(": ")
    if not sep or " " in key:
        return Problem(section, str(text))
    return Problem(key, message)


def _plugins(t: Table, problems: list[Problem], known: dict[str, type] | None,
             sites: dict[str, dict[str, Any]]) -> dict[str, PluginSettings]:
    broken: dict[str, str] = {}
    if known is None:
        from gateway.plugins.host import discover_plugins

        known = discover_plugins(broken)
    out: dict[str, PluginSettings] = {}
    for name in list(t.data):
        pt = t.table(name)
        enabled = pt.take("enabled", True, as_bool())
        queue_size = pt.take("queue_size", 1000, as_int(1, 10**6, "a queue length"))
        timeout = pt.take("hook_timeout_s", 30.0, as_number(0.1, 3600, "seconds"))
        options = {k: v for k, v in pt.data.items() if k not in PLUGIN_HOST_KEYS}
        cls = known.get(name)
        if cls is None and name in broken:
            if enabled:
                pt.problem("", f"plugin {name!r} is installed but cannot be imported: "
                           f"{broken[name]}", hint="reinstall it, or set enabled = false")
            continue
        if cls is None:
            if enabled:
                close = difflib.get_close_matches(name, list(known), n=1)
                pt.problem("", f"no plugin named {name!r} is installed",
                           expected=" or ".join(sorted(known)) or "an installed plugin",
                           hint=(f"did you mean {close[0]!r}? " if close else "")
                           + "install it, or set enabled = false")
            continue
        _plugin_options(cls, name, options, problems, sites)
        out[name] = PluginSettings(name, enabled, options, queue_size, timeout)
    return out


def _plugin_options(cls: type, name: str, options: dict[str, Any],
                    problems: list[Problem], sites: dict[str, dict[str, Any]]) -> None:
    check = getattr(cls, "validate_config", None)
    if check is None:
        if options:
            problems.append(Problem(f"plugins.{name}", f"unknown keys {sorted(options)}",
                                    expected="no options", hint="this plugin takes no options"))
        return
    try:
        # A plugin whose options name sites (alerts, modbus) takes them to check the names.
        takes_sites = "sites" in inspect.signature(check).parameters
        found = check(dict(options), sites=sites) if takes_sites else check(dict(options))
    except Exception as exc:  # a plugin's bug must not hide the rest of the report
        logging.getLogger("gateway.config").exception("plugin %s validate_config failed", name)
        found = [f"validate_config failed: {exc!r}"]
    prefix = f"plugins.{name}"
    for text in found:
        p = _problem_from_text(text, prefix)
        key = p.key if p.key.startswith(prefix) else f"{prefix}.{p.key}"
        problems.append(Problem(key, p.message, hint=f"see the {name} plugin's example config"))
