"""The alerts plugin's own settings: state file, SMTP, recipients, rate limits and rules.

``parse_settings(config)`` returns the settings and every problem, each as text that starts
with its key path below ``[plugins.alerts]``, then the bad value and what is expected.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.alerts.rule_config import parse_rules
from gateway.alerts.rules import SEVERITIES, Rule
from gateway.config.fields import Bad, Table, as_bool, as_choice, as_int, as_number, as_str
from gateway.config.model import Problem

__all__ = ["AlertsSettings", "Recipient", "SmtpSettings", "parse_settings"]

LANGUAGES = ("it", "en")


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """How to reach the mail server; ``security`` is "starttls", "ssl" or "none"."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "meterkit@localhost"
    ca_file: str | None = None          # private CA or self-signed server certificate
    timeout_s: float = 30.0
    retry_initial_s: float = 30.0
    retry_max_s: float = 3600.0
    max_attempts: int = 50              # about two days at the maximum backoff
    max_queue: int = 1000               # e-mails waiting; beyond it new ones are dropped


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who gets e-mail: address, language, lowest severity, and a rate limit."""

    name: str
    email: str
    language: str = "it"
    min_severity: str = "info"
    max_messages: int = 6               # per window; the rest goes into one digest
    window_s: int = 3600


@dataclass(frozen=True, slots=True)
class AlertsSettings:
    state_db: Path | None
    language: str = "it"
    notify: tuple[str, ...] = ()        # recipients of rules that name none
    email_backfill: bool = False
    live_window_s: int = 7200
    chart_hours: int = 48
    keep_days: int = 400                # alert history kept in the state database
    keep_mail_days: int = 30            # sent or failed e-mails (with their charts)
    smtp: SmtpSettings | None = None
    recipients: dict[str, Recipient] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    def recipients_of(self, rule: Rule) -> list[Recipient]:
        names = rule.recipients or self.notify
        return [self.recipients[n] for n in names if n in self.recipients]


def _email(value: Any) -> str:
    if not isinstance(value, str) or value.count("@") != 1 or " " in value.strip():
        raise Bad(f"{value!r} is not an e-mail address", '"name@domain"')
    return value.strip()


def _absolute(value: Any) -> str:
    # The plugin does not know where gateway.toml is, and systemd runs it from "/".
    if not isinstance(value, str) or not Path(value).expanduser().is_absolute():
        raise Bad(f"{value!r} is not an absolute path", '"/var/lib/meterkit/alerts.db"')
    return str(Path(value).expanduser())


def _ca_file(value: Any) -> str:
    # Checked now: at the first alert, hours later, a missing file would only be a log line.
    if not isinstance(value, str) or not value:
        raise Bad(f"{value!r} is not a file name", '"/etc/meterkit/smtp-ca.pem"')
    path = Path(value).expanduser()
    try:
        ssl.create_default_context(cafile=str(path))
    except FileNotFoundError:
        raise Bad(f"{value!r} does not exist", "a readable PEM file with the CA certificate(s)",
                  "copy the mail server's CA there, or remove ca_file") from None
    except PermissionError:
        raise Bad(f"{value!r} cannot be read by this user",
                  "a readable PEM file with the CA certificate(s)",
                  "chmod 644 it (a CA certificate is not secret)") from None
    except (OSError, ssl.SSLError) as exc:
        raise Bad(f"{value!r} holds no usable certificate ({exc})",
                  "a PEM file with -----BEGIN CERTIFICATE----- blocks") from None
    return str(path)


def _secret(value: Any) -> str:
    if not isinstance(value, str):
        raise Bad("the value (not shown) is not a string", "a quoted string")  # a secret
    return value


def parse_settings(config: dict[str, Any]) -> tuple[AlertsSettings | None, list[str]]:
    """The typed settings (None if there are problems) and the problems as text."""
    problems: list[Problem] = []
    root = Table(config, "", problems)
    # default: the plugin's own directory under the gateway state_dir (chosen at start)
    state_db = root.take("state_db", None, _absolute)
    language = root.take("language", "it", as_choice(*LANGUAGES))
    recipients = _recipients(root.table("recipients"), language)
    notify = root.take("notify", (), _names)
    for i, n in enumerate(notify):
        if n not in recipients:
            root.problem(f"notify[{i}]", f"{n!r} is not a configured recipient", value=n,
                         expected=" or ".join(sorted(recipients)) or "a recipient name")
    smtp = _smtp(root.table("smtp")) if "smtp" in config else None
    if recipients and smtp is None:
        root.problem("smtp", "missing", expected="an [plugins.alerts.smtp] table",
                     hint="recipients need a mail server")
    settings = AlertsSettings(
        state_db=Path(state_db) if state_db else None,
        language=language,
        notify=notify,
        email_backfill=root.take("email_backfill", False, as_bool()),
        live_window_s=root.take("live_window_s", 7200, as_int(900, 30 * 86400, "seconds")),
        chart_hours=root.take("chart_hours", 48, as_int(6, 168, "a number of hours")),
        keep_days=root.take("keep_days", 400, as_int(1, 36500, "a number of days")),
        keep_mail_days=root.take("keep_mail_days", 30, as_int(1, 3650, "a number of days")),
        smtp=smtp,
        recipients=recipients,
        rules=tuple(parse_rules(root.table("rules"), set(recipients))),
    )
    root.finish()
    return (None if problems else settings), [str(p) for p in problems]


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Bad(f"{value!r} is not a list of names", '["energy_manager"]')
    return tuple(value)


def _recipients(t: Table, language: str) -> dict[str, Recipient]:
    out = {}
    for name in list(t.data):
        rt = t.table(name)
        email = rt.take("email", None, _email)
        if email is None and "email" not in rt.data:
            rt.problem("email", "missing", expected='"name@domain"')
        r = Recipient(
            name=name, email=email or "",
            language=rt.take("language", language, as_choice(*LANGUAGES)),
            min_severity=rt.take("min_severity", "info", as_choice(*SEVERITIES)),
            max_messages=rt.take("max_messages", 6, as_int(1, 10_000, "a count")),
            window_s=rt.take("window_s", 3600, as_int(60, 7 * 86400, "seconds")),
        )
        rt.finish()
        if email:
            out[name] = r
    return out


def _smtp(t: Table) -> SmtpSettings | None:
    host = t.take("host", None, as_str())
    if host is None and "host" not in t.data:
        t.problem("host", "missing", expected='the mail server, e.g. "smtp.comune.genova.it"')
    security = t.take("security", "starttls", as_choice("starttls", "ssl", "none"))
    default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
    password = t.take("password", None, _secret)
    password_file = t.take("password_file", None, as_str())
    if password_file is not None:
        try:
            password = Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            t.problem("password_file", f"cannot read {password_file!r}: {exc.strerror}",
                      expected="a readable file holding the password", value=password_file)
    settings = SmtpSettings(
        host=host or "",
        port=t.take("port", default_port, as_int(1, 65535, "a TCP port")),
        security=security,
        username=t.take("username", None, as_str()),
        password=password,
        sender=t.take("sender", "meterkit@localhost", _email),
        ca_file=t.take("ca_file", None, _ca_file),
        timeout_s=t.take("timeout_s", 30.0, as_number(1, 600, "seconds")),
        retry_initial_s=t.take("retry_initial_s", 30.0, as_number(0.01, 86400, "seconds")),
        retry_max_s=t.take("retry_max_s", 3600.0, as_number(0.01, 86400, "seconds")),
        max_attempts=t.take("max_attempts", 50, as_int(1, 10_000, "a count")),
        max_queue=t.take("max_queue", 1000, as_int(1, 1_000_000, "a count")),
    )
    t.finish()
    return settings if host else None
