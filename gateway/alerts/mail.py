"""E-mail: build a multipart message (text, HTML, inline PNG chart) and send it over SMTP.

`send_mail` returns only once the server accepted the message (aiosmtplib returns after the
final DATA reply); anything else raises :class:`MailError`, whose `transient` says whether a
retry can help. STARTTLS, implicit TLS ("ssl") and AUTH come from :class:`SmtpSettings`.
"""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from gateway.alerts.errors import MailError
from gateway.alerts.render import CHART_CID, Rendered
from gateway.alerts.settings import SmtpSettings

__all__ = ["build_message", "send_mail"]


def build_message(r: Rendered, *, sender: str, to: str, lang: str,
                  chart_png: bytes | None = None) -> EmailMessage:
    """text/plain + (text/html with the chart as a related inline image)."""
    msg = EmailMessage()
    msg["Subject"] = r.subject
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.partition("@")[2] or "meterkit")
    msg["Content-Language"] = lang
    msg.set_content(r.text)
    msg.add_alternative(r.html, subtype="html")
    if chart_png is not None:
        html_part = msg.get_payload()[1]  # type: ignore[index]
        html_part.add_related(chart_png, maintype="image", subtype="png",
                              cid=f"<{CHART_CID}>", filename="chart.png",
                              disposition="inline")
    return msg


def _tls_context(s: SmtpSettings) -> ssl.SSLContext | None:
    if s.ca_file is None:
        return None  # aiosmtplib uses the system's trust store
    return ssl.create_default_context(cafile=s.ca_file)


async def send_mail(s: SmtpSettings, *, to: str, message: bytes) -> None:
    """Deliver one stored message to one address; MailError on failure."""
    try:
        await aiosmtplib.send(
            message, sender=s.sender, recipients=[to], hostname=s.host, port=s.port,
            username=s.username, password=s.password, timeout=s.timeout_s,
            use_tls=s.security == "ssl", start_tls=s.security == "starttls",
            tls_context=_tls_context(s))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"recipient refused: {exc}", where=to, transient=False,
                        hint="check the recipient's address") from exc
    except aiosmtplib.SMTPResponseException as exc:
        # 5xx is permanent, except authentication: the operator may fix the password.
        permanent = exc.code >= 500 and not isinstance(exc, aiosmtplib.SMTPAuthenticationError)
        raise MailError(f"server said {exc.code} {exc.message}", where=f"{s.host}:{s.port}",
                        transient=not permanent) from exc
    except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}", where=f"{s.host}:{s.port}",
                        hint="the server may be down; the e-mail will be retried") from exc
