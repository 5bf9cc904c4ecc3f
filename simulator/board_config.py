"""The provisioning JSON a simulated board boots with (firmware/config.py validates it)."""

from __future__ import annotations

from typing import Any

from simulator.fleet import SimDevice

__all__ = ["board_config"]


def board_config(dev: SimDevice, gateway_port: int, *, queue_kb: int = 192,
                 sample_every_s: int = 10) -> dict[str, Any]:
    """Board config: CT channels every 15 min, the gas reed hourly (as the firmware defaults);
    the flash queue (192 KB, ~7 weeks of backlog) must stay well below the 512 KB flash.
    With the device option `modem = "at"` the board talks to a simulated SIM7000 through its
    real AT driver (simulator/modem.py, started per board by simulator/boards.py)."""
    channels: list[dict[str, Any]] = []
    for ch in dev.channels:
        if ch.kind == "electric":
            channels.append({"id": ch.index, "type": "ct", "interval_s": 900,
                             "sample_every_s": sample_every_s, "nominal_v": 230.0, "pf": 1.0})
        else:
            lpp = ch.meter.litres_per_pulse if ch.meter else 100.0
            channels.append({"id": ch.index, "type": "pulse", "interval_s": 3600,
                             "litres_per_pulse": lpp, "edge": "falling", "unit": "L",
                             "stable_ms": 20, "min_period_ms": 250})
    return {
        "device_id": int(dev.id, 16),
        "key": dev.key.hex(),
        "gateway": {"host": "127.0.0.1", "port": gateway_port},
        "modem": ({"type": "sim7000", "apn": "iot.meterkit.sim", "power_cycle_after": 3}
                  if dev.spec.options.get("modem") == "at" else {"type": "none"}),
        "channels": channels,
        "upload": {"backoff_min_s": 15, "backoff_max_s": 1800},
        "queue": {"max_kb": queue_kb},
    }
