"""Gas day totals go upstream: one outbox row per complete gas day, again on a correction.

Hourly gas frames go over real TCP through the writer and the normaliser into SQLite; the
gas_day outbox rows are checked against docs/schemas/gas_day.v1.json. Hand figures at LODI
(tests/gateway/service/test_normaliser.py, C = 1.035204, 9.4227 kWh/Smc):
- 1500 L = 1.5 m³ = 1.552806 Smc = 14.631625 kWh per hour; a 24 h day is
  24 x 1.552806 = 37.267344 Smc, 24 x 14.631625 = 351.159 kWh, 36 m³.
- 1000 L = 1 m³ = 1.035204 Smc = 9.754417 kWh per hour (tests/gateway/normaliser/
  test_gas_days.py); 24 h: 24.844896 Smc, 234.106008 kWh, 24 m³; the 25 h gas day of
  2026-10-24 (DST ends on the 25th): 25.8801 Smc, 243.860425 kWh, 25 m³.
The stack's receive clock (2026-09-21) is before every interval here: no `backfill` flag.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.normaliser import renormalise_device
from gateway.registry import update_device
from tests.gateway.normaliser.helpers import Env, block, frame, running
from tests.gateway.uplink.schemas import validate

GAS = {1: {"name": "gas", "kind": "gas", "unit": "L"}}
H = 3600


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


async def gas_days(env: Env) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(topic, stream, msg_id, payload) of the gas_day outbox rows, in outbox order."""
    rows = await env.stack.rows(
        "SELECT topic, stream, msg_id, payload FROM outbox WHERE topic LIKE '%/gas_day' "
        "ORDER BY id")
    out = []
    for topic, stream, msg_id, payload in rows:
        doc = json.loads(payload)
        validate(doc)
        out.append((topic, stream, msg_id, doc))
    return out


def totals(doc: dict[str, Any]) -> tuple[Any, ...]:
    return doc["smc"], doc["kwh"], doc["m3"], doc["length_s"], doc["flags"], doc["complete"]


async def test_a_full_gas_day_is_published_once(tmp_path: Path) -> None:
    async with running(tmp_path, GAS) as env:
        # gas day 2026-11-20 (CET): 05:00Z to 05:00Z. Baseline 04:00Z, 24 hours, then one
        # hour of the 21st (an incomplete day: not published)
        regs = [100_000 + 1500 * i for i in range(1 + 24 + 1)]
        await env.send(frame(env.did, 1, block(1, "L", H, ts(2026, 11, 20, 4), regs)))
        await env.drain()
        (topic, stream, msg_id, doc), = await gas_days(env)
        assert topic == f"meterkit/lodi/{env.dev}/gas/gas_day"
        assert stream == f"{env.dev}:gas:gas_day"
        assert msg_id == doc["msg_id"] == f"{env.dev}:gas:gasday:2026-11-20"
        assert list(doc)[:2] == ["schema", "msg_id"]
        assert (doc["schema"], doc["site"], doc["device"], doc["channel"], doc["gas_day"]) == \
            ("meterkit/gas_day/1", "lodi", env.dev, "gas", "2026-11-20")
        assert (doc["start"], doc["end"]) == ("2026-11-20T06:00:00+01:00",
                                              "2026-11-21T06:00:00+01:00")
        assert (doc["start_utc"], doc["end_utc"]) == ("2026-11-20T05:00:00Z",
                                                      "2026-11-21T05:00:00Z")
        assert totals(doc) == (37.267344, 351.159, 36.0, 86400, [], True)
        # the 25 readings went out as usual, the day's row after them
        ids = await env.outbox_ids()
        assert len(ids) == 26 and ids[-1] == msg_id


async def test_the_25_hour_day_with_an_estimated_hour(tmp_path: Path) -> None:
    async with running(tmp_path, GAS) as env:
        # baseline 03:00Z (05:00 CEST), 25 h of the 24th, 1 h of the 25th; hour 13:00Z never
        # arrives: the next sample closes a gap, spread over both hours (flagged)
        regs = [50_000 + 1000 * i for i in range(1 + 25 + 1)]
        start = ts(2026, 10, 24, 3)
        del regs[10]
        await env.send(frame(env.did, 1, block(1, "L", H, start, regs[:10])),
                       frame(env.did, 2, block(1, "L", H, start + 11 * H, regs[10:])))
        await env.drain()
        (_topic, _stream, msg_id, doc), = await gas_days(env)
        assert msg_id == f"{env.dev}:gas:gasday:2026-10-24"
        assert (doc["start"], doc["end"]) == ("2026-10-24T06:00:00+02:00",
                                              "2026-10-25T06:00:00+01:00")
        assert (doc["start_utc"], doc["end_utc"]) == ("2026-10-24T04:00:00Z",
                                                      "2026-10-25T05:00:00Z")
        assert totals(doc) == (25.8801, 243.860425, 25.0, 90000, ["estimated", "gap"], True)


async def test_an_incomplete_day_waits_for_its_last_hour(tmp_path: Path) -> None:
    async with running(tmp_path, GAS) as env:
        regs = [100_000 + 1500 * i for i in range(1 + 24)]
        first = ts(2026, 11, 20, 4)
        await env.send(frame(env.did, 1, block(1, "L", H, first, regs[:11])))   # 10 hours
        await env.drain()
        assert len(await env.series("gas")) == 10
        assert await gas_days(env) == []
        await env.send(frame(env.did, 2, block(1, "L", H, first + 11 * H, regs[11:23])))
        await env.drain()
        assert await gas_days(env) == []    # 22 of 24 hours
        await env.send(frame(env.did, 3, block(1, "L", H, first + 23 * H, regs[23:])))
        await env.drain()
        (_topic, _stream, msg_id, doc), = await gas_days(env)
        assert msg_id == f"{env.dev}:gas:gasday:2026-11-20"
        assert totals(doc) == (37.267344, 351.159, 36.0, 86400, [], True)


async def test_a_correction_republishes_the_day_under_the_same_msg_id(tmp_path: Path) -> None:
    pulses = {"name": "gas", "kind": "gas", "unit": "pulse"}
    async with running(tmp_path, {1: {**pulses, "factor": 10}}) as env:
        # 100 pulses an hour; registered at 10 L/pulse (wrong): 1000 L an hour
        first = ts(2026, 11, 20, 4)
        regs = [5_000 + 100 * i for i in range(1 + 24)]
        await env.send(frame(env.did, 1, block(1, "pulse", H, first, regs)))
        await env.drain()
        (_t, _s, msg_id, wrong), = await gas_days(env)
        assert totals(wrong) == (24.844896, 234.106008, 24.0, 86400, [], True)

        # the meter's true factor is 15 L/pulse: 1500 L an hour
        await env.stack.db.write(update_device, env.dev, channels={1: {**pulses, "factor": 15}})
        report = await renormalise_device(env.stack.db, env.config, env.dev,
                                          since=datetime.fromtimestamp(first + H, UTC))
        assert report.changed == 24
        (_t, _s, id1, doc1), (_t2, stream, id2, fixed) = await gas_days(env)
        assert id1 == id2 == fixed["msg_id"] == msg_id == f"{env.dev}:gas:gasday:2026-11-20"
        assert doc1 == wrong and stream == f"{env.dev}:gas:gas_day"
        assert totals(fixed) == (37.267344, 351.159, 36.0, 86400, [], True)

        # nothing changed the second time: nothing published
        again = await renormalise_device(env.stack.db, env.config, env.dev,
                                         since=datetime.fromtimestamp(first + H, UTC))
        assert again.changed == 0 and len(await gas_days(env)) == 2
