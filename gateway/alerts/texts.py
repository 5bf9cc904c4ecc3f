"""Words and number/time formats for alert messages in Italian and English.

Times are always shown in Europe/Rome local time with the zone abbreviation (CET/CEST), which
also tells apart the two 02:xx hours of the last Sunday of October.
"""

from __future__ import annotations

from datetime import datetime

from gateway.alerts.lifecycle import Transition
from gateway.alerts.rules import Rule
from gateway.normalise.localtime import to_local

__all__ = ["WORDS", "fmt_num", "fmt_time", "payload_unit", "rate_unit", "value_unit",
           "what"]

WORDS: dict[str, dict[str, str]] = {
    "it": {
        "raised": "ALLARME", "cleared": "RIENTRATO", "historical": "[storico] ",
        "info": "informazione", "warning": "attenzione", "critical": "critico",
        "rule": "Regola", "where": "Punto di misura", "severity": "Gravità",
        "from": "Dal", "to": "al", "since": "Da", "local": "ora italiana",
        "value": "Valore attuale", "limit": "Soglia", "peak": "Valore peggiore",
        "at": "Alle", "normal_since": "Nella norma da",
        "back": "Tornato nella norma alle", "chart": "Andamento delle ultime {h} ore",
        "backfill_note": "Allarme calcolato su dati storici arrivati in ritardo (backfill): "
                         "non descrive la situazione attuale.",
        "digest": "Riepilogo: {n} notifiche non inviate per limite di frequenza",
        "digest_intro": "Per non inviare troppi messaggi, queste notifiche sono state "
                        "raggruppate:",
        "more": "… e altre {n}",
        "footer": "Messaggio automatico del gateway meterkit.",
    },
    "en": {
        "raised": "ALERT", "cleared": "BACK TO NORMAL", "historical": "[historical] ",
        "info": "info", "warning": "warning", "critical": "critical",
        "rule": "Rule", "where": "Metering point", "severity": "Severity",
        "from": "From", "to": "to", "since": "Since", "local": "Italian time",
        "value": "Current value", "limit": "Limit", "peak": "Worst value",
        "at": "At", "normal_since": "Normal since",
        "back": "Back to normal at", "chart": "Last {h} hours",
        "backfill_note": "Raised from historical data that arrived late (backfill): it does "
                         "not describe the current situation.",
        "digest": "Digest: {n} notifications held back by the rate limit",
        "digest_intro": "To avoid flooding you, these notifications were grouped:",
        "more": "… and {n} more",
        "footer": "Automatic message from the meterkit gateway.",
    },
}

_WHAT = {
    "it": {
        "threshold:power": "Potenza media {v} {u} oltre la soglia di {l} {u}",
        "threshold:energy": "Energia dell'intervallo {v} {e} oltre la soglia di {l} {e}",
        "daily_energy": "Energia del giorno {v} {e} oltre la soglia di {l} {e}",
        "threshold:power:below": "Potenza media {v} {u} sotto la soglia di {l} {u}",
        "threshold:energy:below": "Energia dell'intervallo {v} {e} sotto la soglia di {l} "
                                  "{e}",
        "daily_energy:below": "Energia del giorno {v} {e} sotto la soglia di {l} {e}",
        "band_share": "Quota di energia in fascia {b}: {v} % (soglia {l} %)",
        "closed_building": "Consumo a edificio chiuso: {v} {u} oltre il carico di base "
                           "di {l} {u}",
        "gas_outside_heating": "Gas fuori dall'orario di riscaldamento: {v} {u} (massimo {l} "
                               "{u})",
        "no_data": "Nessun dato da {v} intervalli (limite {l})",
        "device_event": "Evento segnalato dal dispositivo: {ev}",
        "anomaly": "Potenza {v} {u} contro {x} {u} attesi ({z} deviazioni standard)",
    },
    "en": {
        "threshold:power": "Average power {v} {u} beyond the limit of {l} {u}",
        "threshold:energy": "Interval energy {v} {e} beyond the limit of {l} {e}",
        "daily_energy": "Energy of the day {v} {e} beyond the limit of {l} {e}",
        "threshold:power:below": "Average power {v} {u} below the limit of {l} {u}",
        "threshold:energy:below": "Interval energy {v} {e} below the limit of {l} {e}",
        "daily_energy:below": "Energy of the day {v} {e} below the limit of {l} {e}",
        "band_share": "Share of energy in band {b}: {v} % (limit {l} %)",
        "closed_building": "Consumption while the building is closed: {v} {u} above the base "
                           "load of {l} {u}",
        "gas_outside_heating": "Gas outside the heating schedule: {v} {u} (maximum {l} {u})",
        "no_data": "No data for {v} intervals (limit {l})",
        "device_event": "Event reported by the device: {ev}",
        "anomaly": "Power {v} {u} against {x} {u} expected ({z} standard deviations)",
    },
}


def fmt_num(x: float | None, lang: str, digits: int = 2) -> str:
    if x is None:
        return "–"
    text = f"{x:,.{digits}f}"
    if lang == "it":  # 1,234.5 -> 1.234,5
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def fmt_time(t: datetime, lang: str) -> str:
    local = to_local(t)
    pattern = "%d/%m/%Y %H:%M" if lang == "it" else "%Y-%m-%d %H:%M"
    return f"{local.strftime(pattern)} {local.tzname()}"


def rate_unit(unit: str | None) -> str:
    return {"kWh": "kW", "Smc": "Smc/h", "m3": "m³/h"}.get(unit or "kWh", f"{unit}/h")


def value_unit(rule: Rule, unit: str | None) -> str:
    """The unit of a rule's compared value: power, energy, percent or intervals."""
    if rule.kind == "band_share":
        return "%"
    if rule.kind == "no_data":
        return ""
    if rule.kind == "daily_energy" or (rule.kind == "threshold" and rule.metric == "energy"):
        return unit or "kWh"
    return rate_unit(unit)


def payload_unit(rule: Rule, unit: str | None) -> str | None:
    """The unit of the published `value`, `limit` and `peak` (not the channel's unit)."""
    if rule.kind == "no_data":
        return "intervals"
    if rule.kind == "device_event":
        return None  # the board's own event value: its meaning depends on the event kind
    return value_unit(rule, unit)


def _below(t: Transition, rule: Rule, value: float | None) -> bool:
    """True when the alert is about a value under `below` rather than over `above`."""
    if rule.kind not in ("threshold", "daily_energy") or rule.below is None:
        return False
    if rule.above is None:
        return True
    if t.kind == "raised":
        return t.limit == rule.below
    return value is not None and value < rule.below


def what(t: Transition, rule: Rule, lang: str, unit: str | None) -> str:
    """One sentence saying what was observed, with the values.

    A cleared alert tells the worst value while it was active (its peak) and, for anomalies,
    the expected value and deviations of that same interval.
    """
    key = f"threshold:{rule.metric}" if rule.kind == "threshold" else rule.kind
    cleared = t.kind == "cleared" and t.peak is not None
    value = t.peak if cleared else t.value
    limit = t.limit
    if _below(t, rule, value):
        key += ":below"
        limit = rule.below
    elif cleared and rule.kind in ("threshold", "daily_energy") and rule.above is not None:
        limit = rule.above
    detail = t.detail
    if cleared and isinstance(t.detail.get("at_peak"), dict):
        detail = t.detail["at_peak"]
    digits = 0 if rule.kind == "no_data" else 1 if rule.kind == "band_share" else 2
    return _WHAT[lang][key].format(
        v=fmt_num(value, lang, digits), l=fmt_num(limit, lang, digits),
        u=rate_unit(unit), e=unit or "kWh", b=rule.band or "",
        ev=t.detail.get("event") or t.key.rsplit("|", 1)[-1],
        x=fmt_num(detail.get("expected"), lang),
        z=fmt_num(detail.get("z"), lang, 1))
