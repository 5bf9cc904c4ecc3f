"""Installer-facing texts in English and Italian; `t(key, lang)` picks one.

Errors carry their own specific `todo` (English); for Italian the headline and the next step
of each error code are translated here, the specific detail is shown under them.
"""

from __future__ import annotations

__all__ = ["LANGS", "error_text", "t"]

LANGS = ("en", "it")

_TEXT: dict[str, tuple[str, str]] = {
    "connecting": ("Connecting to the board on {port}", "Collegamento alla scheda su {port}"),
    "writing": ("Writing and verifying files", "Scrittura e verifica dei file"),
    "registered": ("Registered at the gateway", "Registrato sul gateway"),
    "bundled": ("Added to bundle {path} (import it on the gateway)",
                "Aggiunto al pacchetto {path} (da importare sul gateway)"),
    "done": ("Board {id} provisioned: firmware {fw}, config {hash:08x}",
             "Scheda {id} configurata: firmware {fw}, configurazione {hash:08x}"),
    "label": ("Label written: {path}", "Etichetta scritta: {path}"),
    "key_file": ("Key saved (0600): {path}", "Chiave salvata (0600): {path}"),
    "key_shown": ("KEY (keep secret): {key}", "CHIAVE (riservata): {key}"),
    "selftest": ("Self-test", "Autodiagnosi"),
    "check": ("check", "verifica"),
    "result": ("result", "esito"),
    "detail": ("detail", "dettaglio"),
    "warning": ("warning", "attenzione"),
    "rotated": ("Key of {id} rotated; the board restarted with it",
                "Chiave di {id} sostituita; la scheda è ripartita con la nuova"),
    "counter_limit_unknown": (
        "The board's frame counter could not be read: until the board's first message with "
        "its new key, the gateway accepts old-key messages at any counter",
        "Non è stato possibile leggere il contatore dei messaggi della scheda: fino al primo "
        "messaggio con la nuova chiave il gateway accetta messaggi con la vecchia chiave a "
        "qualsiasi contatore"),
    "counter_raised": (
        "The gateway already holds messages of {id} up to counter {max}: the board's frame "
        "counter was set to continue at {limit}",
        "Il gateway ha già messaggi di {id} fino al contatore {max}: il contatore dei "
        "messaggi della scheda è stato impostato per proseguire da {limit}"),
    "counter_unknown_stored": (
        "The gateway already holds messages of {id} up to counter {max}, and this board's "
        "frame counter cannot be read or set on this platform: if its flash was erased or it "
        "is another board, the gateway will refuse its messages as replays. Then provision it "
        "under a new device id and decommission {id}",
        "Il gateway ha già messaggi di {id} fino al contatore {max} e su questa piattaforma "
        "il contatore dei messaggi della scheda non si può leggere né impostare: se la sua "
        "memoria è stata cancellata o è un'altra scheda, il gateway rifiuterà i suoi messaggi "
        "come ripetuti. In tal caso configurarla con un nuovo identificativo e dismettere "
        "{id}"),
    "decommissioned": ("Device {id} removed from the gateway{board}",
                       "Dispositivo {id} rimosso dal gateway{board}"),
    "board_wiped": (" and its config erased from the board",
                    " e configurazione cancellata dalla scheda"),
    "bulk_summary": ("{ok} ok, {failed} failed, {total} total",
                     "{ok} riusciti, {failed} falliti, {total} totali"),
    "waiting_hello": ("Waiting for the board's first message at the gateway",
                      "Attesa del primo messaggio della scheda sul gateway"),
    "hello_ok": ("Gateway received the board's hello with the written config",
                 "Il gateway ha ricevuto il saluto della scheda con la configurazione scritta"),
    "todo": ("What to do", "Cosa fare"),
}

_ERRORS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "port_missing": (("Serial port not found", "Porta seriale non trovata"),
                     ("Plug the USB cable in (a data cable) and check the port name.",
                      "Collegare il cavo USB (cavo dati, non solo ricarica) e controllare il "
                      "nome della porta.")),
    "port_busy": (("Serial port busy", "Porta seriale occupata"),
                  ("Close other serial programs (monitor, Thonny, mpremote) and retry.",
                   "Chiudere gli altri programmi sulla seriale (monitor, Thonny, mpremote) e "
                   "riprovare.")),
    "not_micropython": (("The board does not answer as MicroPython",
                         "La scheda non risponde come MicroPython"),
                        ("Flash MicroPython first, or pick the right port; press RESET.",
                         "Installare prima MicroPython o scegliere la porta giusta; premere "
                         "RESET.")),
    "board_lost": (("The board disappeared", "La scheda è scomparsa"),
                   ("Plug it back in and run the same command again; if it says "
                    "\"registered: yes\" below, the board holds its config: run only check.",
                    "Ricollegarla e ripetere lo stesso comando; se qui sotto c'è "
                    "\"registered: yes\", la scheda ha la sua configurazione: lanciare solo "
                    "check.")),
    "file_write": (("Cannot write a file", "Impossibile scrivere un file"),
                   ("Pick a folder you can write to (named below) and retry.",
                    "Scegliere una cartella scrivibile (indicata sotto) e riprovare.")),
    "board_exec": (("The board reported an error", "La scheda ha segnalato un errore"),
                   ("Reset the board and retry.", "Riavviare la scheda e riprovare.")),
    "firmware_version": (("Wrong firmware version", "Versione firmware errata"),
                         ("Run again without --config-only to update the firmware.",
                          "Ripetere senza --config-only per aggiornare il firmware.")),
    "verify_mismatch": (("Verification failed: the board holds different data",
                         "Verifica fallita: la scheda contiene dati diversi"),
                        ("The old file was kept. Use a shorter USB cable and retry.",
                         "Il file precedente è stato mantenuto. Usare un cavo USB più corto e "
                         "riprovare.")),
    "selftest_failed": (("Self-test failed", "Autodiagnosi fallita"),
                        ("Check the wiring, SIM and clamp named below, then run check.",
                         "Controllare cablaggio, SIM e pinza indicati sotto, poi eseguire "
                         "check.")),
    "channel": (("Invalid channel setting", "Impostazione canale non valida"),
                ("Correct the value named below.", "Correggere il valore indicato sotto.")),
    "gateway_unreachable": (("Gateway not reachable", "Gateway non raggiungibile"),
                            ("Work on the gateway host, or use --bundle and import it later.",
                             "Operare sul gateway, oppure usare --bundle e importarlo dopo.")),
    "registration": (("The gateway refused the device", "Il gateway ha rifiutato il dispositivo"),
                     ("See the reason below.", "Vedere il motivo sotto.")),
    "rotation_unconfirmed": (
        ("The board's last key rotation is not confirmed yet",
         "La sostituzione precedente della chiave non è ancora confermata"),
        ("Let the board send data to the gateway once with its current key, then retry. If "
         "the data still queued on the board may be lost (for example the board was "
         "replaced), retry with --discard-backlog-key.",
         "Lasciare che la scheda invii dati al gateway una volta con la chiave attuale, poi "
         "riprovare. Se i dati ancora in coda sulla scheda possono andare persi (per esempio "
         "la scheda è stata sostituita), riprovare con --discard-backlog-key.")),
    "bundle": (("Bundle not accepted", "Pacchetto non accettato"),
               ("Ask the installer for a fresh bundle.", "Chiedere all'installatore un "
                "pacchetto nuovo.")),
    "error": (("Provisioning failed", "Configurazione fallita"),
              ("See the detail below.", "Vedere il dettaglio sotto.")),
}


def t(key: str, lang: str = "en", **values: object) -> str:
    en, it = _TEXT[key]
    return (it if lang == "it" else en).format(**values)


def error_text(code: str, lang: str = "en") -> tuple[str, str]:
    """(headline, next step) for an error code."""
    (en_h, it_h), (en_n, it_n) = _ERRORS.get(code, _ERRORS["error"])
    return (it_h, it_n) if lang == "it" else (en_h, en_n)
