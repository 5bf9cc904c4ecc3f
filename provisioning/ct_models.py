"""Known CT clamps and how each maps onto the firmware's `ct_ratio` / `burden_ohm` settings.

The firmware computes primary amps per ADC volt as ``ct_ratio / burden_ohm * gain``.
Current-output clamps (e.g. SCT-013-000, 100 A : 50 mA) need the board's burden resistor:
``ct_ratio`` is the turns ratio and ``burden_ohm`` the resistor fitted on the board.
Voltage-output clamps (SCT-013-030, 30 A / 1 V) have their burden inside: the pair is set to
``ct_ratio = rated amps``, ``burden_ohm = rated volts``, so the quotient is amps per volt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["CT_MODELS", "CtModel", "find_model", "max_measurable_a"]

BOARD_BURDEN_OHM = 33.0  # the kit's on-board burden for current-output clamps (firmware default)
ADC_VREF_V = 3.3         # the ESP32 input swings around mid-rail: ±1.65 V before clipping


@dataclass(frozen=True, slots=True)
class CtModel:
    """One clamp model: rated primary current and its output (amps for `current`, volts)."""

    name: str
    rated_a: float
    output: str          # "current" (needs the board burden) or "voltage" (burden inside)
    rated_out: float     # secondary amps at rated_a (current) or volts (voltage)
    note: str = ""

    @property
    def ct_ratio(self) -> float:
        return round(self.rated_a / self.rated_out) if self.output == "current" else self.rated_a

    def burden_ohm(self, board_burden_ohm: float = BOARD_BURDEN_OHM) -> float:
        return board_burden_ohm if self.output == "current" else self.rated_out

    def describe(self) -> str:
        out = f"{self.rated_out * 1000:.3g} mA" if self.output == "current" else \
            f"{self.rated_out:g} V"
        return f"{self.rated_a:g} A : {out}"


CT_MODELS: dict[str, CtModel] = {m.name: m for m in (
    CtModel("SCT-013-000", 100.0, "current", 0.050, "needs the on-board burden resistor"),
    CtModel("SCT-013-005", 5.0, "voltage", 1.0),
    CtModel("SCT-013-010", 10.0, "voltage", 1.0),
    CtModel("SCT-013-015", 15.0, "voltage", 1.0),
    CtModel("SCT-013-020", 20.0, "voltage", 1.0),
    CtModel("SCT-013-025", 25.0, "voltage", 1.0),
    CtModel("SCT-013-030", 30.0, "voltage", 1.0),
    CtModel("SCT-013-050", 50.0, "voltage", 1.0),
    CtModel("SCT-013-060", 60.0, "voltage", 1.0),
    CtModel("SCT-016", 120.0, "current", 0.040, "needs the on-board burden resistor"),
    CtModel("SCT-019", 200.0, "current", 0.2 / 6, "needs the on-board burden resistor"),
)}


def find_model(name: str) -> CtModel | None:
    """Look a model up ignoring case, spaces and a missing "SCT-" prefix ("013-030" works)."""
    key = name.strip().upper().replace(" ", "").replace("_", "-")
    if not key.startswith("SCT"):
        key = "SCT-" + key
    key = key.replace("SCT013", "SCT-013").replace("SCT0", "SCT-0")
    return CT_MODELS.get(key)


def max_measurable_a(ct_ratio: float, burden_ohm: float, gain: float = 1.0,
                     vref_v: float = ADC_VREF_V) -> float:
    """The RMS primary current at which a sine clips the ADC (peak reaches mid-rail)."""
    amps_per_volt = ct_ratio / burden_ohm * gain
    return (vref_v / 2) * amps_per_volt / math.sqrt(2)
