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
    "link_outages": ("interruzioni del collegamento (per scheda)", "link outages (per board)"),
    "unplanned_restarts": ("riavvii non pianificati (firmware o processo bloccato)",
                           "unplanned restarts (firmware or stalled process)"),
    "link_refused": ("connessioni non riuscite (rete)", "connections failed (network)"),
    "link_cut": ("connessioni interrotte (rete)", "connections cut (network)"),
    "nat_dropped": ("sessioni chiuse dal NAT", "sessions dropped by the NAT"),
    "gateway_crashes": ("arresti anomali del gateway", "gateway crashes"),
    "broker_restarts": ("riavvii del broker MQTT", "MQTT broker restarts"),
    "alerts_unavailable": ("allarmi non valutati: plugin alerts non installato",
                           "alerts not evaluated: the alerts plugin is not installed"),
    "baseline_days": ("giorni del periodo di riferimento", "days in the baseline period"),
    "alpha_smc_per_degree_day": ("consumo per grado giorno [Smc/GG]",
                                 "gas per degree day [Smc/DD]"),
    "annual_baseline_smc_at_dpr412_gg": ("baseline annua ai gradi giorno DPR 412/93 [Smc]",
                                         "yearly baseline at the DPR 412/93 degree days [Smc]"),
    "reporting_days": ("giorni dopo l'intervento", "days after the measure"),
    "baseline_smc": ("gas nel periodo di riferimento [Smc]", "gas in the baseline period [Smc]"),
    "baseline_degree_days": ("gradi giorno del periodo di riferimento",
                             "degree days of the baseline period"),
    "reporting_smc": ("gas dopo l'intervento [Smc]", "gas after the measure [Smc]"),
    "reporting_degree_days": ("gradi giorno dopo l'intervento", "degree days after the measure"),
    "normalised_baseline_smc": ("baseline normalizzata [Smc]", "normalised baseline [Smc]"),
    "avoided_smc": ("gas risparmiato [Smc]", "gas avoided [Smc]"),
    "saving_pct": ("risparmio [%]", "saving [%]"),
    "co2_avoided_kg": ("CO2 evitata [kg]", "CO2 avoided [kg]"),
    "simulated_measure_pct": ("effetto simulato dell'intervento [%]",
                              "simulated effect of the measure [%]"),
    "method": ("metodo", "method"),
    "time": ("ora", "time"),
    "device": ("scheda", "board"),
    "rule": ("regola", "rule"),
    "state": ("stato", "state"),
    "message": ("messaggio", "message"),
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
