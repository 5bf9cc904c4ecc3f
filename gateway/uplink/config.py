"""The ``[mqtt]`` config section: a typed dataclass and its validation with key paths."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["MqttConfig", "TlsConfig", "tls_context", "validate_mqtt"]

_LEVEL = re.compile(r"^[^/+#\x00]+$")


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """``[mqtt.tls]``: CA bundle (None = system CAs), optional client certificate and key."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """Validated ``[mqtt]`` settings; see deploy/gateway example and docs/MQTT.md."""

    host: str
    site: str
    port: int = 1883
    protocol: str = "5"                  # "5" or "3.1.1"
    client_id: str = ""                  # default "meterkit-<site>" (must be stable: session)
    prefix: str = "meterkit"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: TlsConfig | None = None
    keepalive_s: int = 60
    session_expiry_s: int = 7 * 86400    # MQTT 5 session expiry (clean_start False)
    inflight: int = 100                  # in-flight window (published, PUBACK not yet seen)
    backlog_rate: float = 200.0          # backlog messages per second; 0 = unlimited
    live_scan: int = 1000                # newest pending rows looked at for the live lane
    live_window_s: float = 300.0         # rows added this recently may take the live lane
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 120.0
    max_attempts: int = 5                # broker rejections before a row is quarantined
    reject_retry_s: float = 30.0         # pause of a stream after a rejection
    safety_check_s: float = 30.0         # slow periodic look at the outbox (missed wake-ups)
    shutdown_grace_s: float = 5.0        # wait for in-flight PUBACKs on shutdown
    max_payload_bytes: int = 0           # local limit (0 = only the broker's); see docs
    commands: bool = True                # subscribe to <prefix>/<site>/+/command/set
    ha_discovery: bool = False
    ha_prefix: str = "homeassistant"

    @property
    def effective_client_id(self) -> str:
        return self.client_id or f"meterkit-{self.site}"


_INT = {"port": (1, 65535, "a TCP port"), "keepalive_s": (5, 65535, "a keepalive in seconds"),
        "session_expiry_s": (0, 4294967295, "a session expiry in seconds"),
        "inflight": (1, 65535, "an in-flight window"), "live_scan": (0, 1000000, "a row count"),
        "max_attempts": (1, 1000, "an attempt count"),
        "max_payload_bytes": (0, 268435455, "a size in bytes")}
_FLOAT = {"backlog_rate": 0.0, "live_window_s": 0.0, "reconnect_min_s": 0.01,
          "reconnect_max_s": 0.01, "reject_retry_s": 0.0, "safety_check_s": 0.1,
          "shutdown_grace_s": 0.0}
_BOOL = ("commands", "ha_discovery")
_STR = ("client_id", "username", "password", "prefix", "ha_prefix", "host", "site", "protocol")


def validate_mqtt(table: dict[str, Any], *, site: str | None = None,
                  base_dir: Path | None = None) -> tuple[MqttConfig | None, list[str]]:
    """Check the ``[mqtt]`` table; returns ``(config, [])`` or ``(None, problems)``.

    Every problem starts with its key path, e.g. ``mqtt.port: 0 is not a TCP port (expected
    1-65535)``. `site` is used when the table has none; relative TLS paths resolve against
    `base_dir` (the config file's directory).
    """
    errs: list[str] = []
    if not isinstance(table, dict):
        return None, [f"mqtt: expected a table, got {type(table).__name__}"]
    known = {f.name for f in fields(MqttConfig)} | {"password_file"}
    for key in table:
        if key not in known:
            errs.append(f"mqtt.{key}: unknown key (known: {', '.join(sorted(known))})")
    vals: dict[str, Any] = {}
    for key in _STR:
        if key in table:
            v = table[key]
            if not isinstance(v, str) or (key not in ("password", "username") and not v):
                errs.append(f"mqtt.{key}: {v!r} is not a non-empty string")
            else:
                vals[key] = v
    for key, (lo, hi, what) in _INT.items():
        if key in table:
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                errs.append(f"mqtt.{key}: {v!r} is not {what} (expected {lo}-{hi})")
            else:
                vals[key] = v
    for key, lo in _FLOAT.items():
        if key in table:
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or v < lo:
                errs.append(f"mqtt.{key}: {v!r} is not a number >= {lo}")
            else:
                vals[key] = float(v)
    for key in _BOOL:
        if key in table:
            if not isinstance(table[key], bool):
                errs.append(f"mqtt.{key}: {table[key]!r} is not true or false")
            else:
                vals[key] = table[key]
    if "host" not in table:
        errs.append("mqtt.host: missing (the broker's host name or address)")
    vals.setdefault("site", site or "")
    if not vals["site"]:
        errs.append("mqtt.site: missing (and no site given by the [gateway] section)")
    elif not _LEVEL.match(vals["site"]):
        errs.append(f"mqtt.site: {vals['site']!r} cannot be a topic level (no / + # NUL)")
    for key in ("prefix", "ha_prefix"):
        if key in vals and not all(_LEVEL.match(p) for p in vals[key].split("/")):
            errs.append(f"mqtt.{key}: {vals[key]!r} has an empty level or a wildcard")
    if vals.get("protocol", "5") not in ("5", "3.1.1"):
        errs.append(f"mqtt.protocol: {vals['protocol']!r} (expected \"5\" or \"3.1.1\")")
    if "reconnect_min_s" in vals and "reconnect_max_s" in vals \
            and vals["reconnect_min_s"] > vals["reconnect_max_s"]:
        errs.append("mqtt.reconnect_max_s: smaller than mqtt.reconnect_min_s")
    if "password_file" in table:
        if "password" in table:
            errs.append("mqtt.password_file: give password or password_file, not both")
        path = _path(table["password_file"], "mqtt.password_file", base_dir, errs)
        if path is not None:
            password = _read_password(path, errs)
            if password is not None:
                vals["password"] = password
    if "password" in vals and "username" not in vals:
        errs.append("mqtt.password: a password needs mqtt.username")
    tls = table.get("tls")
    if tls is not None:
        before = len(errs)
        vals["tls"] = _tls(tls, base_dir, errs)
        if vals["tls"] is not None and len(errs) == before:   # the files exist: load them
            _check_tls(vals["tls"], errs)
        if "port" not in table:
            vals["port"] = 8883
    if errs:
        return None, errs
    return MqttConfig(**vals), []


def tls_context(tls: TlsConfig) -> ssl.SSLContext:
    """The client's TLS context: server certificate and host name verified against `ca_file`
    (or the system CAs), with the client certificate when given. Raises ssl.SSLError/OSError."""
    ctx = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    if tls.cert_file is not None and tls.key_file is not None:
        ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    return ctx


def _check_tls(tls: TlsConfig, errs: list[str]) -> None:
    """Load the files now, as the publisher will: a bad file is a config problem at startup
    (check-config), not a traceback when the uplink starts."""
    try:
        ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    except (ssl.SSLError, OSError, ValueError) as exc:
        where = "mqtt.tls.ca_file" if tls.ca_file else "mqtt.tls"
        what = f"{str(tls.ca_file)!r} " if tls.ca_file else "the system CA bundle "
        errs.append(f"{where}: {what}cannot be loaded as PEM CA certificates ({_why(exc)}); "
                    "give the CA that signed the broker's certificate, PEM encoded")
        return
    if tls.cert_file is None or tls.key_file is None:
        return
    if not _has_pem(tls.cert_file, "CERTIFICATE"):
        errs.append(f"mqtt.tls.cert_file: {str(tls.cert_file)!r} holds no PEM certificate "
                    "(-----BEGIN CERTIFICATE-----); give the gateway's client certificate")
        return
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(str(tls.cert_file),
                                                                str(tls.key_file))
    except (ssl.SSLError, OSError) as exc:
        errs.append(f"mqtt.tls.key_file: {str(tls.cert_file)!r} with {str(tls.key_file)!r} "
                    f"cannot be loaded ({_why(exc)}); expected a PEM certificate and its "
                    "unencrypted PEM private key")


def _has_pem(path: Path, label: str) -> bool:
    try:
        return f"-----BEGIN {label}-----".encode() in path.read_bytes()
    except OSError:
        return False


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    return getattr(exc, "strerror", None) or str(exc)


def _read_password(path: Path, errs: list[str]) -> str | None:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        errs.append(f"mqtt.password_file: cannot read {str(path)!r} ({exc.strerror}); the "
                    "gateway's user needs read access")
        return None
    except UnicodeDecodeError as exc:
        errs.append(f"mqtt.password_file: {str(path)!r} is not UTF-8 text (byte "
                    f"0x{exc.object[exc.start]:02x} at offset {exc.start}); write the password "
                    "as UTF-8 on the file's first line")
        return None
    password = text.strip()
    if not password:
        errs.append(f"mqtt.password_file: {str(path)!r} is empty; write the password in it")
        return None
    return password


def _path(v: Any, key: str, base_dir: Path | None, errs: list[str]) -> Path | None:
    if not isinstance(v, str) or not v:
        errs.append(f"{key}: {v!r} is not a file path")
        return None
    p = Path(v)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    if not p.is_file():
        errs.append(f"{key}: file {str(p)!r} does not exist or is not a file")
        return None
    return p


def _tls(v: Any, base_dir: Path | None, errs: list[str]) -> TlsConfig | None:
    if v is True:
        return TlsConfig()
    if not isinstance(v, dict):
        errs.append(f"mqtt.tls: {v!r} is not true or a table (ca_file, cert_file, key_file)")
        return None
    for key in v:
        if key not in ("ca_file", "cert_file", "key_file"):
            errs.append(f"mqtt.tls.{key}: unknown key (known: ca_file, cert_file, key_file)")
    got = {k: _path(v[k], f"mqtt.tls.{k}", base_dir, errs)
           for k in ("ca_file", "cert_file", "key_file") if k in v}
    if ("cert_file" in v) != ("key_file" in v):
        errs.append("mqtt.tls.key_file: a client certificate needs both cert_file and key_file")
    return TlsConfig(**got)
