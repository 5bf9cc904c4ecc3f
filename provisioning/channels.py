"""Channel settings an installer gives (`0:ct:SCT-013-030`, `1:gas:10`): parse, validate, map.

Each channel becomes two things: the board's config entry (firmware/config.py keys) and the
gateway registry's channel spec (name, kind, unit plus the settings, for the record).
Errors name the channel and the setting, the bad value and what is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provisioning.ct_models import BOARD_BURDEN_OHM, CT_MODELS, find_model, max_measurable_a
from provisioning.errors import ChannelError

__all__ = ["Channel", "parse_channel", "parse_channels"]

_CT_KEYS = ("name", "nominal_v", "pf", "burden_ohm", "ratio", "interval_s", "pin", "max_a")
_GAS_KEYS = ("name", "interval_s", "pin", "edge")
_INTERVALS = (900, 3600)


@dataclass(frozen=True, slots=True)
class Channel:
    """One validated channel."""

    index: int
    kind: str                       # "ct" or "gas"
    name: str
    interval_s: int
    model: str | None = None        # CT model, or "custom"
    ct_ratio: float | None = None
    burden_ohm: float | None = None
    nominal_v: float | None = None
    pf: float | None = None
    max_a: float | None = None
    litres_per_pulse: float | None = None
    pin: int | None = None
    edge: str | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def board(self) -> dict[str, Any]:
        """The entry for the board's config.json."""
        if self.kind == "ct":
            out: dict[str, Any] = {"id": self.index, "type": "ct", "ct_ratio": self.ct_ratio,
                                   "burden_ohm": self.burden_ohm, "nominal_v": self.nominal_v,
                                   "pf": self.pf, "interval_s": self.interval_s}
        else:
            out = {"id": self.index, "type": "pulse", "litres_per_pulse": self.litres_per_pulse,
                   "unit": "L", "interval_s": self.interval_s, "edge": self.edge or "falling"}
        if self.pin is not None:
            out["pin"] = self.pin
        return out

    def registry(self, building: str = "") -> dict[str, Any]:
        """The gateway registry's channel spec (kind/unit drive normalisation)."""
        if self.kind == "ct":
            out: dict[str, Any] = {"name": self.name, "kind": "electric", "unit": "Wh",
                                   "ct_model": self.model, "ct_ratio": self.ct_ratio,
                                   "burden_ohm": self.burden_ohm, "nominal_v": self.nominal_v,
                                   "pf": self.pf}
        else:
            out = {"name": self.name, "kind": "gas", "unit": "L", "factor": 1,
                   "litres_per_pulse": self.litres_per_pulse}
        if building:
            out["building"] = building
        return out

    def summary(self) -> str:
        if self.kind == "ct":
            return (f"{self.index}:{self.name} CT {self.model} ratio {self.ct_ratio:g} "
                    f"burden {self.burden_ohm:g} Ω {self.nominal_v:g} V pf {self.pf:g}")
        return f"{self.index}:{self.name} gas {self.litres_per_pulse:g} L/pulse"


def _num(where: str, key: str, text: str, lo: float, hi: float, *, integer: bool = False,
         unit: str = "") -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ChannelError(f"{key}={text!r} is not a number", where=where,
                           todo=f"give {key} as a number between {lo:g} and {hi:g}{unit}") from None
    if not lo <= value <= hi:
        raise ChannelError(f"{key}={value:g} is outside {lo:g}..{hi:g}{unit}", where=where,
                           todo=f"check the value; accepted {lo:g}..{hi:g}{unit}")
    return value


def parse_channel(spec: str) -> Channel:
    """``INDEX:ct:MODEL[:key=value...]`` or ``INDEX:gas:LITRES_PER_PULSE[:key=value...]``."""
    parts = [p.strip() for p in spec.strip().split(":")]
    where = f"channel {spec!r}"
    if len(parts) < 3 or not all(parts[:3]):
        raise ChannelError("expected INDEX:ct:MODEL or INDEX:gas:LITRES", where=where,
                           todo="e.g. 0:ct:SCT-013-030 or 1:gas:10 (10 litres per pulse)")
    index = int(_num(where, "index", parts[0], 0, 254, integer=True))
    kind = parts[1].lower()
    opts: dict[str, str] = {}
    for p in parts[3:]:
        key, sep, value = p.partition("=")
        allowed = _CT_KEYS if kind == "ct" else _GAS_KEYS
        if not sep or key not in allowed:
            raise ChannelError(f"{p!r} is not a setting of a {kind} channel", where=where,
                               todo=f"use key=value with key one of {', '.join(allowed)}")
        opts[key] = value
    where = f"channel {index}"
    interval = int(_num(where, "interval_s", opts.get("interval_s", "900" if kind == "ct"
                                                     else "3600"), 900, 3600, integer=True))
    if interval not in _INTERVALS:
        raise ChannelError(f"interval_s={interval} is not 900 or 3600", where=where,
                           todo="use 900 (15 min) or 3600 (1 h)")
    pin = int(_num(where, "pin", opts["pin"], 0, 39, integer=True)) if "pin" in opts else None
    if kind == "ct":
        return _ct(index, parts[2], opts, interval, pin, where)
    if kind == "gas":
        lpp = _num(where, "litres per pulse", parts[2], 0.001, 1000, unit=" L")
        edge = opts.get("edge", "falling")
        if edge not in ("falling", "rising"):
            raise ChannelError(f"edge={edge!r} is not falling or rising", where=where,
                               todo="reed contacts to ground use falling (the default)")
        warnings = () if lpp in (1, 10, 100, 1000) else (
            f"{lpp:g} L/pulse is unusual (gas meters print 0.01 m³ = 10 L or 0.1 m³ = 100 L)",)
        return Channel(index, "gas", opts.get("name", "gas"), interval, litres_per_pulse=lpp,
                       pin=pin, edge=edge, warnings=warnings)
    raise ChannelError(f"type {parts[1]!r} is not ct or gas", where=where,
                       todo="use ct for a current clamp, gas for a gas meter's pulse output")


def _ct(index: int, model_name: str, opts: dict[str, str], interval: int, pin: int | None,
        where: str) -> Channel:
    warnings: list[str] = []
    if model_name.lower() == "custom":
        if "ratio" not in opts:
            raise ChannelError("a custom CT needs ratio=", where=where,
                               todo="give ratio=<turns> and burden_ohm=<Ω> (current output) "
                                    "or ratio=<A per V> burden_ohm=1 (voltage output)")
        model = "custom"
        ratio = _num(where, "ratio", opts["ratio"], 1, 100000)
        burden = _num(where, "burden_ohm", opts.get("burden_ohm", str(BOARD_BURDEN_OHM)),
                      0.001, 100000, unit=" Ω")
    else:
        found = find_model(model_name)
        if found is None:
            raise ChannelError(f"CT model {model_name!r} is not known", where=where,
                               todo="one of " + ", ".join(CT_MODELS) + ", or custom:ratio=..")
        model = found.name
        if "ratio" in opts:
            raise ChannelError(f"ratio= is fixed by the model {model}", where=where,
                               todo="drop ratio=, or use the model custom")
        ratio = float(found.ct_ratio)
        if found.output == "voltage" and "burden_ohm" in opts:
            raise ChannelError(f"{model} has its burden inside; burden_ohm= does not apply",
                               where=where, todo="drop burden_ohm=")
        burden = _num(where, "burden_ohm", opts["burden_ohm"], 1, 1000, unit=" Ω") \
            if "burden_ohm" in opts else found.burden_ohm()
    nominal = _num(where, "nominal_v", opts.get("nominal_v", "230"), 100, 440, unit=" V")
    pf = _num(where, "pf", opts.get("pf", "1.0"), 0.5, 1.0)
    limit = max_measurable_a(ratio, burden)
    max_a = None
    if "max_a" in opts:
        max_a = _num(where, "max_a", opts["max_a"], 0.1, 10000, unit=" A")
        if max_a > limit:
            raise ChannelError(f"max_a={max_a:g} A is above what this CT and burden measure "
                               f"({limit:.1f} A)", where=where,
                               todo="use a larger clamp or a smaller burden resistor")
    elif model != "custom" and CT_MODELS[model].rated_a > limit:
        warnings.append(f"readings clip above {limit:.1f} A with a {burden:g} Ω burden")
    return Channel(index, "ct", opts.get("name", f"el{index + 1}"), interval, model=model,
                   ct_ratio=ratio, burden_ohm=burden, nominal_v=nominal, pf=pf, max_a=max_a,
                   pin=pin, warnings=tuple(warnings))


def parse_channels(specs: list[str]) -> list[Channel]:
    """Parse several specs; indexes and names must be unique; at least one channel."""
    if not specs:
        raise ChannelError("no channels given", where="channels",
                           todo="add --channel 0:ct:SCT-013-030 and/or --channel 1:gas:10")
    out = [parse_channel(s) for s in specs]
    seen: dict[int, str] = {}
    names: set[str] = set()
    for c in out:
        if c.index in seen:
            raise ChannelError(f"index {c.index} is used twice", where=f"channel {c.index}",
                               todo="each clamp or pulse input has its own index")
        if c.name in names:
            raise ChannelError(f"name {c.name!r} is used twice", where=f"channel {c.index}",
                               todo="give each channel its own name=")
        seen[c.index] = c.name
        names.add(c.name)
    return out
