"""What the board's inputs see: CT clamp samples (harmonics, offset, noise) and reed pulses.

`CTSignal` turns a load current into ADC samples as the ESP32 would read them through the
burden resistor and bias divider. `ReedMeter` turns a gas flow into reed-switch edges with
contact bounce: a gas meter's magnet closes the reed once per `litres_per_pulse`; each
transition rings for a few milliseconds before settling, which the firmware must debounce.
Both are seeded and reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulator.models.noise import derive_seed, uniform

__all__ = ["CTSignal", "Edge", "ReedMeter", "current_rms"]


def current_rms(power_w: float, *, volts: float = 230.0, power_factor: float = 0.95) -> float:
    """RMS current of a single-phase load, amperes."""
    return power_w / (volts * power_factor)


@dataclass(frozen=True)
class CTSignal:
    """A 100 A : 50 mA clamp on a 22 Ω burden, biased at mid-scale, read as 16-bit counts."""

    ct_ratio: float = 2000.0
    burden_ohm: float = 22.0
    adc_bits: int = 16          # ESP32 read_u16() scale, as the firmware HAL returns
    vref: float = 3.3
    offset_counts: float = 32768.0
    mains_hz: float = 50.0
    harmonics: tuple[tuple[int, float, float], ...] = ((3, 0.12, 0.4), (5, 0.06, 1.1))
    noise_counts: float = 32.0

    @property
    def counts_per_amp(self) -> float:
        return self.burden_ohm / self.ct_ratio * (2**self.adc_bits) / self.vref

    def samples(self, irms: float, n: int, sample_rate_hz: float, *, seed: int = 0,
                burst: int = 0) -> np.ndarray:
        """`n` ADC readings of one burst, clipped to the ADC range, as int32."""
        rng = np.random.default_rng(derive_seed(seed, "ct", burst))
        t = np.arange(n) / sample_rate_hz + rng.uniform(0.0, 1.0 / self.mains_hz)
        w = 2.0 * math.pi * self.mains_hz
        wave = np.sin(w * t)
        for order, ratio, phase in self.harmonics:
            wave += ratio * np.sin(order * w * t + phase)
        # scale so the waveform's RMS equals irms whatever the harmonic content
        norm = math.sqrt(0.5 * (1.0 + sum(r * r for _o, r, _p in self.harmonics)))
        amps = wave * (irms / norm)
        counts = self.offset_counts + amps * self.counts_per_amp
        counts += rng.normal(0.0, self.noise_counts, n)
        top = 2**self.adc_bits - 1
        return np.clip(np.rint(counts), 0, top).astype(np.int32)


@dataclass(frozen=True, slots=True)
class Edge:
    """A level change of the reed input at `t` seconds (virtual, Unix time)."""

    t: float
    closed: bool


@dataclass
class ReedMeter:
    """A diaphragm gas meter's reed output; `pulses` counts the true (debounced) pulses."""

    seed: int
    litres_per_pulse: float = 100.0
    closed_fraction: float = 0.1     # share of one pulse's volume the reed stays closed
    min_closed_s: float = 0.5
    max_closed_s: float = 30.0
    bounce_max: int = 4              # extra make/break pairs per transition
    bounce_window_s: float = 0.004
    litres: float = 0.0              # volume through the meter since start
    pulses: int = 0
    _edges: int = field(default=0, repr=False)

    def advance(self, t0: float, t1: float, flow_m3h: float, *, edges: bool = True) -> list[Edge]:
        """Let gas flow at `flow_m3h` from t0 to t1 (s); return the reed edges, bounce included
        (none when `edges` is False: the caller only wants the pulse count)."""
        out: list[Edge] = []
        if flow_m3h <= 0.0 or t1 <= t0:
            return out
        lps = flow_m3h * 1000.0 / 3600.0
        next_at = (self.pulses + 1) * self.litres_per_pulse
        self.litres += lps * (t1 - t0)
        while self.litres >= next_at:
            t = t1 - (self.litres - next_at) / lps
            hold = self.closed_fraction * self.litres_per_pulse / lps
            hold = min(self.max_closed_s, max(self.min_closed_s, hold))
            if edges:
                out += self._ringing(t, closed=True)
                out += self._ringing(t + hold, closed=False)
            self.pulses += 1
            next_at += self.litres_per_pulse
        return out

    def _ringing(self, t: float, *, closed: bool) -> list[Edge]:
        self._edges += 1
        n = int(uniform(self.seed, self._edges) * (self.bounce_max + 1))
        out: list[Edge] = []
        step = self.bounce_window_s / (2 * n + 1)
        for i in range(n):  # make-break chatter before the contact settles
            out.append(Edge(t + (2 * i) * step, closed))
            out.append(Edge(t + (2 * i + 1) * step, not closed))
        out.append(Edge(t + 2 * n * step, closed))
        return out
