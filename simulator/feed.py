"""Sim-feed lines for one board: CT current, gas pulses, link state and power cuts over time.

The firmware's simulated HAL (firmware/hal_sim.py, docs/FIRMWARE.md "Sim feed protocol")
reads lines `<unix seconds> <command> [args]` and applies each when its virtual clock reaches
that time. Per step (60 s virtual by default) this writes the channel's RMS current, computed
from the load model's power (the board measures P = 230 V x Irms x pf); per hour, the gas
pulses the meter makes in that hour (its flow integrated minute by minute) as one `pulses`
train with contact bounce. Link outages become `link down` /
`link up`; a power cut becomes `cut`, which ends the board process: the runner restarts it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from simulator.fleet import SimChannel, SimDevice
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
    bounce: int = 1              # make/break chatter on closing and release
    bounce_ms: float = 3.0


def _fmt(t: float) -> str:
    return f"{t:.3f}"


def _gas_train(ch: SimChannel, t0: float, t1: float, step: int, params: FeedParams,
               u: float, true_time: Callable[[float], float]) -> tuple[float, str] | None:
    """One `pulses` line for the gas pulses of [t0, t1) (at most an hour), spread over its
    first 80 %: the HAL replaces a channel's train when the next line arrives, so a train
    must be fully delivered well before then, even when the board runs late."""
    assert ch.gas is not None and ch.meter is not None  # checked by the caller
    before = ch.meter.pulses
    t = t0
    while t < t1:  # the meter integrates the model's flow minute by minute
        nxt = min(t1, (t // step + 1) * step)
        flow = ch.gas.flow_m3h(datetime.fromtimestamp(true_time(t), UTC))
        ch.meter.advance(t, nxt, max(0.0, flow), edges=False)
        t = nxt
    n = ch.meter.pulses - before
    if not n:
        return None
    period_ms = 0.8 * (t1 - t0) * 1000.0 / n
    width = min(0.4 * period_ms, 2000.0)
    phase = 0.5 * period_ms * u
    return (t0 + phase / 1000.0,
            f"pulses {ch.index} n={n} period_ms={period_ms:.1f} width_ms={width:.1f} "
            f"bounce={params.bounce} bounce_ms={params.bounce_ms} "
            f"release_bounce={params.bounce}")


def feed_lines(dev: SimDevice, t0: float, t1: float, params: FeedParams,
               *, cut_at: float | None = None, drift_origin: float | None = None
               ) -> Iterator[str]:
    """Lines for board time [t0, t1), in time order; ends with `cut` at `cut_at` if given.

    Times are the board's clock. With clock drift (`dev.faults.clock_drift_ppm`, counted from
    `drift_origin`, the run's start) the loads are evaluated at the true time that board time
    stands for, so the board's intervals slide against the real world as a drifting RTC's do.
    """
    rate = 1.0 + dev.faults.clock_drift_ppm * 1e-6
    origin = t0 if drift_origin is None else drift_origin

    def true_time(board_t: float) -> float:
        return origin + (board_t - origin) / rate

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
        when = datetime.fromtimestamp(true_time(t), UTC)
        for ch in dev.channels:
            if ch.electric is not None:
                watts = max(0.0, ch.electric.power_w(when))
                irms = watts / (params.nominal_v * params.pf) / harmonic_norm
                lines.append((t, f"ct {ch.index} rms={irms:.4f} h3={params.h3} h5={params.h5} "
                                 f"noise={params.noise_counts} offset={params.offset_counts}"))
            elif ch.gas is not None and ch.meter is not None and (t == t0 or t % 3600 == 0):
                line = _gas_train(ch, t, min(end, (t // 3600 + 1) * 3600), step, params,
                                  uniform(seed, k), true_time)
                if line is not None:
                    lines.append(line)
        lines.sort(key=lambda x: x[0])
        for at, text in lines:
            yield f"{_fmt(at)} {text}"
        t = nxt
        k += 1
    if cut_at is not None and cut_at < t1:
        yield f"{_fmt(cut_at)} cut"
