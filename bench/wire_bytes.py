"""Bytes on the wire per device per day: meterkit frames vs Tasmota-style JSON over MQTT.

Run: .venv/bin/python bench/wire_bytes.py

One electric channel (96 quarter-hour readings a day) and one gas channel (24 hourly readings),
sent (a) one frame per reading, (b) in hourly batches, (c) in one daily batch, against the same
readings published as Tasmota-style JSON over MQTT (topic + {"Time": ISO, "ENERGY": {"Total":
kWh float}} in a QoS 1 PUBLISH). Every figure is the length of bytes actually built in this run:
frames by `protocol.codec.encode`, MQTT packets by the small encoder below (MQTT 3.1.1, 2.3).
TCP/IP headers (about 40 bytes per packet either way) are left out: "app" = application layer.
Exit code 1 if hourly batches cost more than 1/6 of the JSON figure per reading (the bar).
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol import codec

KEY = bytes(range(16))
DEVICE = 0x00A1B2C3
DAY = 1764547200  # 2025-12-01T00:00:00Z
TOPIC = "tele/meterkit_00a1b2c3/SENSOR"
ACK_BYTES = 23 + 9  # an ACK frame with no commands: header + tag + acked, time, count


def day_profile() -> tuple[list[int], list[int]]:
    """Cumulative registers at the end of each interval: Wh every 15 min, litres every hour."""
    rnd = random.Random(20251201)
    wh, el = 4_815_162, []
    for q in range(96):
        hour = q / 4
        base = 120 + (380 if 7 <= hour < 22 else 0)  # Wh per quarter hour
        wh += base + rnd.randint(0, 150)
        el.append(wh)
    litres, gas = 1_234_567, []
    for h in range(24):
        litres += (900 if h < 8 or h >= 17 else 250) + rnd.randint(0, 300)
        gas.append(litres)
    return el, gas


class Counter:
    """Frame counter of the simulated board."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def frames_bytes(blocks_per_frame: list[list[dict]]) -> tuple[int, int]:
    """Total uplink bytes and frame count for frames holding the given blocks."""
    ctr = Counter()
    total = 0
    for blocks in blocks_per_frame:
        msg = {"type": "readings", "device_id": DEVICE, "counter": ctr.next(), "blocks": blocks}
        total += len(codec.encode(msg, KEY))
    return total, len(blocks_per_frame)


def block(channel: int, unit: str, interval: int, first: int, regs: list[int]) -> dict:
    return {
        "channel": channel,
        "unit": unit,
        "interval_s": interval,
        "start": DAY + first * interval,
        "registers": regs,
        "flags": [0] * len(regs),
    }


def ours(el: list[int], gas: list[int]) -> dict[str, dict[str, tuple[int, int]]]:
    e = lambda i, regs: block(0, "Wh", 900, i, regs)  # noqa: E731
    g = lambda i, regs: block(1, "L", 3600, i, regs)  # noqa: E731
    return {
        "a) one frame per reading": {
            "electric": frames_bytes([[e(i, [r])] for i, r in enumerate(el)]),
            "gas": frames_bytes([[g(i, [r])] for i, r in enumerate(gas)]),
        },
        "b) hourly batches": {
            "electric": frames_bytes([[e(4 * h, el[4 * h : 4 * h + 4])] for h in range(24)]),
            "gas": frames_bytes([[g(h, [gas[h]])] for h in range(24)]),
            "device, both channels": frames_bytes(
                [[e(4 * h, el[4 * h : 4 * h + 4]), g(h, [gas[h]])] for h in range(24)]
            ),
        },
        "c) one daily batch": {
            "electric": frames_bytes([[e(0, el)]]),
            "gas": frames_bytes([[g(0, gas)]]),
            "device, both channels": frames_bytes([[e(0, el), g(0, gas)]]),
        },
    }


# -- MQTT 3.1.1 PUBLISH, QoS 1 --------------------------------------------------------------
def remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_publish_qos1(topic: str, payload: bytes, packet_id: int) -> bytes:
    t = topic.encode()
    variable = len(t).to_bytes(2, "big") + t + packet_id.to_bytes(2, "big")
    body = variable + payload
    return bytes([0x32]) + remaining_length(len(body)) + body  # 0x32: PUBLISH, QoS 1


def tasmota_json(t: int, section: str, total: float) -> bytes:
    iso = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return json.dumps(
        {"Time": iso, section: {"Total": round(total, 3)}}, separators=(",", ":")
    ).encode()


def mqtt_bytes(el: list[int], gas: list[int]) -> dict[str, tuple[int, int]]:
    pid = 0
    out = {}
    for name, regs, interval, section in (
        ("electric", el, 900, "ENERGY"),
        ("gas", gas, 3600, "GAS"),
    ):
        total = 0
        for i, r in enumerate(regs):
            pid += 1
            payload = tasmota_json(DAY + (i + 1) * interval, section, r / 1000)
            total += len(mqtt_publish_qos1(TOPIC, payload, pid))
        out[name] = (total, len(regs))
    return out


def main() -> int:
    el, gas = day_profile()
    readings = {"electric": len(el), "gas": len(gas), "device, both channels": len(el) + len(gas)}
    mq = mqtt_bytes(el, gas)
    mq["device, both channels"] = (
        mq["electric"][0] + mq["gas"][0],
        mq["electric"][1] + mq["gas"][1],
    )
    sample = mqtt_publish_qos1(TOPIC, tasmota_json(DAY + 900, "ENERGY", el[0] / 1000), 1)

    print("Bytes per device per day, application layer (TCP/IP headers excluded)\n")
    print(
        f"{'scheme':30} {'channel':20} {'frames':>6} {'bytes/day':>10} {'B/reading':>10}"
        f" {'+ACKs/day':>10}"
    )
    rows = ours(el, gas)
    for scheme, chans in rows.items():
        for chan, (b, frames) in chans.items():
            acks = b + frames * ACK_BYTES
            print(f"{scheme:30} {chan:20} {frames:6} {b:10} {b / readings[chan]:10.1f} {acks:10}")
    for chan, (b, pubs) in mq.items():
        print(
            f"{'JSON over MQTT (QoS 1)':30} {chan:20} {pubs:6} {b:10} {b / readings[chan]:10.1f}"
            f" {b + pubs * 4:10}"
        )
    print(
        f"\nexample MQTT PUBLISH ({len(sample)} B): {sample[:4].hex()}... "
        f"{sample[2 + 2 + len(TOPIC) + 2 :].decode()}"
    )
    print("+ACKs/day adds our ACK frames (32 B, one per uplink frame) / MQTT PUBACKs (4 B each).\n")

    ours_hourly = (
        rows["b) hourly batches"]["device, both channels"][0] / readings["device, both channels"]
    )
    json_per = mq["device, both channels"][0] / readings["device, both channels"]
    ratio = json_per / ours_hourly
    print(
        f"hourly batches: {ours_hourly:.1f} B/reading vs JSON over MQTT {json_per:.1f} "
        f"B/reading: {ratio:.1f}x smaller (bar: at least 6x)"
    )
    for chan in ("electric", "gas"):
        o = rows["b) hourly batches"][chan][0] / readings[chan]
        j = mq[chan][0] / readings[chan]
        print(f"  {chan:8} {o:6.1f} vs {j:6.1f} B/reading: {j / o:.1f}x")
    return 0 if ratio >= 6 else 1


if __name__ == "__main__":
    sys.exit(main())
