"""Alert content: the MQTT payload, and e-mail subject, plain-text and HTML bodies."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from gateway.alerts.lifecycle import Transition
from gateway.alerts.rules import Rule
from gateway.alerts.texts import WORDS, fmt_num, fmt_time, payload_unit, value_unit, what
from gateway.normalise.localtime import to_local

__all__ = ["CHART_CID", "Rendered", "digest", "payload", "render"]

CHART_CID = "chart@meterkit"


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def _iso(t: Any) -> str | None:
    return to_local(t).isoformat(timespec="seconds") if t is not None else None


def payload(t: Transition, rule: Rule, unit: str | None) -> dict[str, Any]:
    """The alert as published upstream (result name "alert"); English message text."""
    return {
        "rule": rule.name, "kind": rule.kind, "state": t.kind, "severity": rule.severity,
        "site": t.site, "device": t.device, "channel": t.channel,
        "time": _iso(t.at), "since": _iso(t.since),
        "value": t.value, "limit": t.limit, "peak": t.peak,
        "unit": payload_unit(rule, unit), "channel_unit": unit,
        "backfill": t.backfill, "message": _message(t, rule, unit),
        "description": rule.description, "details": t.detail,
    }


def _message(t: Transition, rule: Rule, unit: str | None) -> str:
    # A subscriber may show only this line: a cleared alert must not read like a raised one.
    sentence = what(t, rule, "en", unit)
    return sentence if t.kind == "raised" else f"Back to normal. While active: {sentence}"


def _lines(t: Transition, rule: Rule, lang: str, unit: str | None) -> list[tuple[str, str]]:
    w = WORDS[lang]
    where = " / ".join(x for x in (t.site, t.device, t.channel) if x)
    rows = [(w["rule"], f"{rule.name}" + (f" – {rule.description}" if rule.description else "")),
            (w["where"], where), (w["severity"], w[rule.severity])]
    if t.kind == "cleared":
        window = f"{w['back']} {fmt_time(t.at, lang)}"
    elif t.since == t.at:
        window = f"{w['at']} {fmt_time(t.at, lang)}"
    else:
        window = f"{w['from']} {fmt_time(t.since, lang)} {w['to']} {fmt_time(t.at, lang)}"
    rows.append(("", f"{window} ({w['local']})"))
    if t.kind == "cleared":
        rows.append((w["normal_since"], fmt_time(t.since, lang)))
        if t.value is not None:
            rows.append((w["value"], f"{fmt_num(t.value, lang)} {value_unit(rule, unit)}"
                         .strip()))
    return rows


def render(t: Transition, rule: Rule, lang: str, unit: str | None,
           chart_hours: int | None) -> Rendered:
    """Subject, text and HTML of one alert e-mail; the HTML shows the chart by CID."""
    w = WORDS[lang]
    hist = w["historical"] if t.backfill else ""
    where = " ".join(x for x in (t.device, t.channel) if x)
    title = w["raised"] if t.kind == "raised" else w["cleared"]
    subject = f"{hist}[meterkit] {title} {w[rule.severity]}: {rule.name} – {t.site or ''} {where}"
    headline = what(t, rule, lang, unit)
    rows = _lines(t, rule, lang, unit)
    text = [f"{title}: {headline}", ""]
    text += [f"{k}: {v}" if k else v for k, v in rows]
    if t.backfill:
        text += ["", w["backfill_note"]]
    text += ["", w["footer"]]
    cells = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows)
    img = ""
    if chart_hours:
        caption = html.escape(w["chart"].format(h=chart_hours))
        img = (f"<p>{caption}<br><img src=\"cid:{CHART_CID}\" alt=\"{caption}\" "
               "width=\"600\" height=\"240\"></p>")
    color = {"raised": "#b00020", "cleared": "#1b7f3b"}[t.kind]
    note = f"<p><em>{html.escape(w['backfill_note'])}</em></p>" if t.backfill else ""
    body = (f"<html><body style='font-family:sans-serif'>"
            f"<h2 style='color:{color}'>{html.escape(title)}</h2>"
            f"<p><strong>{html.escape(headline)}</strong></p><table>{cells}</table>{note}"
            f"{img}<p style='color:#666'>{html.escape(w['footer'])}</p></body></html>")
    return Rendered(subject.strip(), "\n".join(text) + "\n", body)


def digest(items: list[dict[str, Any]], overflow: int, lang: str) -> Rendered:
    """One e-mail listing the notifications the rate limit held back."""
    w = WORDS[lang]
    n = len(items) + overflow
    subject = f"[meterkit] {w['digest'].format(n=n)}"
    lines = [f"- {i[lang]}" for i in items]
    if overflow:
        lines.append(w["more"].format(n=overflow))
    text = "\n".join([w["digest_intro"], "", *lines, "", w["footer"]]) + "\n"
    li = "".join(f"<li>{html.escape(i[lang])}</li>" for i in items)
    more = f"<p>{html.escape(w['more'].format(n=overflow))}</p>" if overflow else ""
    body = (f"<html><body style='font-family:sans-serif'><h2>{html.escape(subject)}</h2>"
            f"<p>{html.escape(w['digest_intro'])}</p><ul>{li}</ul>{more}"
            f"<p style='color:#666'>{html.escape(w['footer'])}</p></body></html>")
    return Rendered(subject, text, body)


def digest_item(t: Transition, rule: Rule, unit: str | None) -> dict[str, Any]:
    """A one-line summary in both languages (the recipient's is picked when sending)."""
    out: dict[str, Any] = {"key": t.key, "state": t.kind}
    for lang in ("it", "en"):
        w = WORDS[lang]
        title = w["raised"] if t.kind == "raised" else w["cleared"]
        out[lang] = (f"{fmt_time(t.at, lang)} {title} {rule.name} "
                     f"({' '.join(x for x in (t.device, t.channel) if x)}): "
                     f"{what(t, rule, lang, unit)}")
    return out
