"""Italian and English labels for what end users read in the demo and simulation reports."""

from __future__ import annotations

__all__ = ["LANGS", "label"]

LANGS = ("it", "en")

_LABELS: dict[str, tuple[str, str]] = {
    # key: (italiano, English)
    "title": ("meterkit — simulazione completa", "meterkit — end-to-end simulation"),
    "readings": ("Letture", "Readings"),
    "readings_produced": ("prodotte dalle schede", "produced by the boards"),
    "readings_stored": ("memorizzate dal gateway", "stored by the gateway"),
    "readings_normalised": ("normalizzate", "normalised"),
    "readings_delivered": ("consegnate alla piattaforma", "delivered upstream"),
    "readings_lost": ("perse", "lost"),
    "readings_invented": ("inventate", "invented"),
    "registers_altered": ("registri alterati", "registers altered"),
    "duplicates_delivered": ("duplicati ricevuti (scartati)", "duplicates received (dropped)"),
    "estimated_delivered": ("stimate (segnalate)", "estimated (flagged)"),
    "energy_by_band": ("Energia elettrica prelevata per fascia ARERA",
                       "Electricity drawn by ARERA band"),
    "band": ("fascia", "band"),
    "kwh": ("kWh", "kWh"),
    "gas": ("Gas", "Gas"),
    "pv": ("Produzione fotovoltaica", "PV production"),
    "alerts": ("Allarmi", "Alerts"),
    "no_alerts": ("nessun allarme", "no alerts"),
    "savings": ("Baseline e risparmi", "Baseline and savings"),
    "faults": ("Guasti simulati", "Simulated faults"),
    "power_cuts": ("interruzioni di alimentazione", "power cuts"),
    "reboots": ("riavvii", "reboots"),
    "link_outages": ("interruzioni del collegamento", "link outages"),
    "devices": ("schede", "boards"),
    "days": ("giorni simulati", "simulated days"),
    "wall": ("durata reale", "wall time"),
    "verdict_ok": ("Nessuna lettura persa o inventata.", "No reading lost or invented."),
    "verdict_bad": ("ATTENZIONE: letture perse o inventate.",
                    "WARNING: readings lost or invented."),
    "degraded": ("Componenti mancanti", "Missing components"),
    "progress": ("simulazione", "simulating"),
    "quantity": ("grandezza", "quantity"),
    "value": ("valore", "value"),
}


def label(key: str, lang: str = "en") -> str:
    it, en = _LABELS.get(key, (key, key))
    return it if lang == "it" else en
