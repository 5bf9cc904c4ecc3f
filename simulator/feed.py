"""Sim-feed lines for one board: CT current, gas pulses, link state and power cuts over time.

The firmware's simulated HAL (firmware/hal_sim.py, docs/FIRMWARE.md "Sim feed protocol")
reads lines `<unix seconds> <command> [args]` and applies each when its virtual clock reaches
that time. Per step (60 s virtual by default) this writes the channel's RMS current, computed
from the load model's power (the board measures P = 230 V x Irms x pf), and the gas pulses
due in that step as one `pulses` train with contact bounce. Link outages become `link down` /
`link up`; a power cut becomes `cut`, which ends the board process: the runner restarts it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from simulator.fleet import SimDevice
from simulator.models.noise import derive_seed, uniform

__all__ = ["FeedParams", "feed_lines"]


@dataclass(frozen=True)
class FeedParams:
    """How the signals are rendered for the board's inputs."""

    step_s: int = 60
    nominal_v: float = 230.0     # must match the board config (ct.nominal_v)
    pf: float = 1.0              # board config ct.pf
    h3: float = 0.12             # 3rd and 5th harmonic, relative to the fundamental
    h5: float = 0.05
    noise_counts: float = 24.0   # ADC noise, std dev in 16-bit counts
    offset_counts: float = 32768.0
    bounce: int = 2              # make/break chatter on closing and release
    bounce_ms: float = 3.0


def _fmt(t: float) -> str:
    return f"{t:.3f}"


def feed_lines(dev: SimDevice, t0: float, t1: float, params: FeedParams,
               *, cut_at: float | None = None) -> Iterator[str]:
    """Lines for virtual time [t0, t1), in time order; ends with `cut` at `cut_at` if given."""
    harmonic_norm = math.sqrt(1.0 + params.h3**2 + params.h5**2)
    link_events = sorted([(w.start, "link down") for w in dev.faults.link_outages]
                         + [(w.end, "link up") for w in dev.faults.link_outages]
                         + [(t, "link drop") for t in dev.faults.link_drops])
    link_up = dev.faults.link_up(t0)
    yield f"now link {'up' if link_up else 'down'}"
    li = 0
    while li < len(link_events) and link_events[li][0] <= t0:
        li += 1
    seed = derive_seed(dev.id, "pulse-phase")
    step = params.step_s
    t = t0
    end = t1 if cut_at is None else min(t1, cut_at)
    k = int(t0 // step)
    while t < end:
        nxt = min((k + 1) * step, end)
        lines: list[tuple[float, str]] = []
        while li < len(link_events) and link_events[li][0] < nxt:
            lines.append((max(t, link_events[li][0]), link_events[li][1]))
            li += 1
        when = datetime.fromtimestamp(t, UTC)
        for ch in dev.channels:
            if ch.electric is not None:
                watts = max(0.0, ch.electric.power_w(when))
                irms = watts / (params.nominal_v * params.pf) / harmonic_norm
                lines.append((t, f"ct {ch.index} rms={irms:.4f} h3={params.h3} h5={params.h5} "
                                 f"noise={params.noise_counts} offset={params.offset_counts}"))
            elif ch.gas is not None and ch.meter is not None:
                before = ch.meter.pulses
                ch.meter.advance(t, nxt, max(0.0, ch.gas.flow_m3h(when)), edges=False)
                n = ch.meter.pulses - before
                if n:
                    period_ms = (nxt - t) * 1000.0 / n
                    width = min(0.4 * period_ms, 2000.0)
                    phase = period_ms * 0.5 * uniform(seed, k)
                    lines.append((t + phase / 1000.0,
                                  f"pulses {ch.index} n={n} period_ms={period_ms:.1f} "
                                  f"width_ms={width:.1f} bounce={params.bounce} "
                                  f"bounce_ms={params.bounce_ms} release_bounce={params.bounce}"))
        lines.sort(key=lambda x: x[0])
        for at, text in lines:
            yield f"{_fmt(at)} {text}"
        t = nxt
        k += 1
    if cut_at is not None and cut_at < t1:
        yield f"{_fmt(cut_at)} cut"
