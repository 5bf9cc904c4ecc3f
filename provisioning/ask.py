"""The questions `meterkit provision device` asks on a terminal when no --channel is given.

Site, building, then per channel the clamp model (a custom clamp: its ratio and burden), the
nominal voltage, and the gas meter's litres per pulse. Every answer is validated at once with
the same parser as --channel, and asked again with the reason when it is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from provisioning.channels import parse_channel
from provisioning.ct_models import BOARD_BURDEN_OHM, CT_MODELS
from provisioning.errors import ChannelError

__all__ = ["Answers", "ask_device"]

Ask = Callable[[str, str], str]     # (question, default) -> the answer as typed
Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Answers:
    site: str
    building: str
    channels: list[str]             # specs, as --channel takes them


def _site(ask: Ask, say: Say, default: str, sites: Sequence[str] | None) -> str:
    if sites:
        say("sites on this gateway / siti del gateway: " + ", ".join(sites))
    while True:
        site = ask("site / sito", default).strip()
        if not site:
            say("a site is needed / serve un sito")
        elif sites and site not in sites:
            say(f"site {site!r} is not configured on this gateway → one of: "
                + ", ".join(sites))
        else:
            return site


def _ct(ask: Ask, say: Say) -> str | None:
    while True:
        model = ask("CT clamp model on channel 0 / modello pinza (none: nessuna)",
                    "SCT-013-030").strip()
        if model.lower() in ("", "none", "nessuna", "-"):
            return None
        spec = f"0:ct:{model}"
        if model.lower() == "custom":
            ratio = ask("CT ratio: turns (current output, e.g. 2000) or amps per volt "
                        "(voltage output) / rapporto", "").strip()
            burden = ask("burden resistor / resistenza di carico [Ω] (voltage output: 1)",
                         f"{BOARD_BURDEN_OHM:g}").strip()
            spec += f":ratio={ratio}:burden_ohm={burden}"
        volts = ask("nominal voltage / tensione nominale [V]", "230").strip()
        spec += f":nominal_v={volts}"
        if _valid(spec, say):
            return spec


def _gas(ask: Ask, say: Say) -> str | None:
    while True:
        litres = ask("gas litres per pulse on channel 1 / litri per impulso (none: nessuno)",
                     "").strip()
        if litres.lower() in ("", "none", "nessuno", "-"):
            return None
        spec = f"1:gas:{litres}"
        if _valid(spec, say):
            return spec


def _valid(spec: str, say: Say) -> bool:
    try:
        channel = parse_channel(spec)
    except ChannelError as exc:
        say(f"{exc} → {exc.todo}")
        return False
    for warning in channel.warnings:
        say(f"warning / attenzione: {warning}")
    return True


def ask_device(ask: Ask, say: Say, *, site: str = "", sites: Sequence[str] | None = None,
               building: str = "") -> Answers:
    """Ask what was not given; `sites` (the gateway's, when known) bound the site answer."""
    site = _site(ask, say, site, sites)
    building = ask("building / edificio (optional / facoltativo)", building).strip()
    say("CT models / modelli: " + ", ".join(CT_MODELS) + ", custom")
    while True:
        specs = [s for s in (_ct(ask, say), _gas(ask, say)) if s]
        if specs:
            return Answers(site, building, specs)
        say("at least one channel is needed / serve almeno un canale")
