"""Message builders: topics, payload fields, Europe/Rome offsets, and the published schemas."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from gateway.model import DeviceEvent, PluginResult, Reading
from gateway.store.series import GasDay
from gateway.uplink.discovery import ha_discovery_message
from gateway.uplink.downlink import CommandInputError, parse_command
from gateway.uplink.messages import (
    SCHEMA_VERSIONS,
    alert_message,
    command_result_message,
    device_status_message,
    gas_day_message,
    gateway_status_message,
    plugin_result_message,
    reading_message,
)
from tests.gateway.uplink.schemas import SCHEMAS, validate, validator

# gas day 2026-03-28: 06:00 CET Sat (05:00Z) to 06:00 CEST Sun 29 (04:00Z), 23 h
SPRING = GasDay(day=date(2026, 3, 28), smc=23.809692, kwh=224.351591, m3=23.0,
                covered_s=82800, length_s=82800, flags=frozenset({"gap", "estimated"}))
R = Reading(site="comune-x", device="0000a1b2", channel="el1", quantity="energy_import",
            start=datetime(2026, 1, 15, 7, 0, tzinfo=UTC), length_s=900, value=0.532,
            unit="kWh", register=1234567, register_unit="Wh", flags=frozenset({"gap"}),
            band="F1", kwh=0.532)


def test_reading_topic_and_payload() -> None:
    topic, payload = reading_message(R, prefix="meterkit", backfill=True)
    assert topic == "meterkit/comune-x/0000a1b2/el1/energy_import"
    doc = json.loads(payload)
    validate(doc)
    assert doc["msg_id"] == "0000a1b2:el1:1768460400" == R.message_id
    assert doc["start"] == "2026-01-15T08:00:00+01:00"           # CET
    assert doc["start_utc"] == "2026-01-15T07:00:00Z"
    assert (doc["value"], doc["unit"], doc["band"], doc["backfill"]) == (0.532, "kWh", "F1", True)
    assert doc["register"] == {"value": 1234567, "unit": "Wh"}
    assert doc["flags"] == ["gap"]


def test_summer_offset_and_gas_units() -> None:
    gas = replace(R, channel="gas", quantity="gas_volume", unit="m3", register_unit="L",
                  band=None, start=datetime(2026, 7, 1, 10, 0, tzinfo=UTC), flags=frozenset())
    doc = json.loads(reading_message(gas, prefix="p", backfill=False)[1])
    validate(doc)
    assert doc["start"] == "2026-07-01T12:00:00+02:00"           # CEST
    assert (doc["unit"], doc["band"]) == ("m³", None)


@pytest.mark.parametrize(("change", "error"), [
    ({"start": datetime(2026, 1, 1)}, "naive"),
    ({"value": float("nan")}, "finite"),
    ({"unit": "MWh"}, "unit"),
    ({"device": "a/b"}, "device"),
    ({"band": "F4"}, "band"),
])
def test_builder_refuses_bad_readings(change: dict, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        reading_message(replace(R, **change), prefix="meterkit", backfill=False)


def test_gas_day_topic_and_payload() -> None:
    topic, payload = gas_day_message("comune-x", "0000a1b2", "gas", SPRING, prefix="meterkit")
    assert topic == "meterkit/comune-x/0000a1b2/gas/gas_day"
    doc = json.loads(payload)
    validate(doc)
    assert list(doc)[:2] == ["schema", "msg_id"]
    assert doc["msg_id"] == "0000a1b2:gas:gasday:2026-03-28"
    assert (doc["gas_day"], doc["start"], doc["end"]) == (
        "2026-03-28", "2026-03-28T06:00:00+01:00", "2026-03-29T06:00:00+02:00")
    assert (doc["start_utc"], doc["end_utc"]) == ("2026-03-28T05:00:00Z",
                                                  "2026-03-29T04:00:00Z")
    assert (doc["length_s"], doc["smc"], doc["kwh"], doc["m3"]) == (82800, 23.809692,
                                                                   224.351591, 23.0)
    assert (doc["flags"], doc["complete"]) == (["estimated", "gap"], True)


@pytest.mark.parametrize(("change", "error"), [
    ({"covered_s": 79200}, "incomplete"),
    ({"length_s": 86400, "covered_s": 86400}, "length_s"),
    ({"smc": float("inf")}, "finite"),
])
def test_gas_day_builder_refuses_bad_days(change: dict, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        gas_day_message("s", "d1", "gas", replace(SPRING, **change), prefix="m")
    with pytest.raises(ValueError, match="channel"):
        gas_day_message("s", "d1", "g/as", SPRING, prefix="m")


def test_other_messages_validate() -> None:
    t = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    ev = DeviceEvent(site="s", device="d1", kind="tamper", time=t, channel="el1", value=3)
    topic, payload = alert_message(ev, prefix="m", message="case opened", severity="critical")
    assert topic == "m/s/d1/alert"
    validate(json.loads(payload))
    topic, payload = alert_message(None, prefix="m", site="s", kind="storage_low", time=t)
    assert topic == "m/s/alert"
    validate(json.loads(payload))
    topic, payload = device_status_message("s", "d1", {"online": True, "fw": "1.2"},
                                           prefix="m", time=t)
    assert topic == "m/s/d1/status"
    validate(json.loads(payload))
    topic, payload = gateway_status_message("s", "online", prefix="m", time=t, backlog=3,
                                            quarantined=0)
    assert topic == "m/s/gateway/status"
    validate(json.loads(payload))
    res = PluginResult(plugin="baseline", name="weekly", payload={"kwh": 12.5}, site="s")
    topic, payload = plugin_result_message(res, prefix="m")
    assert topic == "m/s/results/baseline/weekly"
    validate(json.loads(payload))
    topic, payload = command_result_message("s", "d1", prefix="m", status="rejected",
                                            error="name: bad")
    assert topic == "m/s/d1/command/result"
    validate(json.loads(payload))
    topic, payload = gas_day_message("s", "d1", "gas", SPRING, prefix="m")
    assert topic == "m/s/d1/gas/gas_day"
    validate(json.loads(payload))


def test_every_schema_is_valid_and_versioned() -> None:
    names = sorted(p.name for p in SCHEMAS.glob("*.json"))
    assert names == ["alert.v1.json", "command.v1.json", "command_result.v1.json",
                     "device_status.v1.json", "gas_day.v1.json", "gateway_status.v1.json",
                     "plugin_result.v1.json", "reading.v1.json"]
    for n in names:
        validator(n.removesuffix(".v1.json"))
    # every type a builder stamps has its file (command.v1 is the platform's, inbound)
    built = {v.split("/")[1] + ".v1.json" for v in SCHEMA_VERSIONS.values()}
    assert built | {"command.v1.json"} == set(names)


def test_command_parsing() -> None:
    req = parse_command("d1", b'{"cmd_id":"abc","name":"set_interval","params":{"s":900}}')
    assert (req.name, req.params, req.cmd_id) == ("set_interval", {"s": 900}, "abc")
    validator("command").validate({"cmd_id": "abc", "name": "set_interval", "params": {}})
    for payload, field in [(b"nope", "payload"), (b"[]", "payload"), (b'{"x":1}', "x"),
                           (b'{"name":"A"}', "name"), (b'{"name":"a","params":[]}', "params"),
                           (b'{"name":"a","cmd_id":7}', "cmd_id")]:
        with pytest.raises(CommandInputError) as exc:
            parse_command("d1", payload)
        assert exc.value.field == field and str(exc.value).startswith(f"{field}: ")
    with pytest.raises(CommandInputError, match="retained"):
        parse_command("d1", b'{"name":"a"}', retained=True)


def test_ha_discovery_config() -> None:
    topic, payload = reading_message(R, prefix="meterkit", backfill=False)
    msg = ha_discovery_message(json.loads(payload), state_topic=topic,
                               status_topic="meterkit/comune-x/gateway/status")
    assert msg is not None
    ha_topic, ha_payload = msg
    assert ha_topic == "homeassistant/sensor/meterkit_comune-x_0000a1b2/el1_energy_import/config"
    cfg = json.loads(ha_payload)
    assert (cfg["device_class"], cfg["state_class"], cfg["unit_of_measurement"]) == \
        ("energy", "total_increasing", "kWh")
    assert cfg["state_topic"] == topic and "register.value" in cfg["value_template"]
    pulses = dict(json.loads(payload), register={"value": 1, "unit": "pulse"})
    assert ha_discovery_message(pulses, state_topic=topic, status_topic="x") is None


def test_every_published_type_can_carry_its_msg_id() -> None:
    """The outbox row's msg_id travels in the payload, second after `schema`, and every
    published schema accepts it (docs/MQTT.md, "De-duplication")."""
    t = datetime(2026, 1, 15, 7, 0, tzinfo=UTC)
    built = [
        device_status_message("comune-x", "0000a1b2", {"online": True}, prefix="m", time=t,
                              msg_id="0000a1b2:status:17"),
        alert_message(None, prefix="m", site="comune-x", kind="uplink_quarantine", time=t,
                      msg_id="gateway:alert:quarantine:9"),
        gateway_status_message("comune-x", "online", prefix="m", time=t,
                               msg_id="comune-x:gateway:online:1768460400000"),
        plugin_result_message(PluginResult(plugin="baseline", name="daily", payload={},
                                           site="comune-x", time=t),
                              prefix="m", msg_id="result:baseline:3"),
        command_result_message("comune-x", "0000a1b2", prefix="m", status="queued", time=t,
                               gateway_cmd_id=1, msg_id="0000a1b2:command:1:queued"),
        gas_day_message("comune-x", "0000a1b2", "gas", SPRING, prefix="m"),
    ]
    ids = ["0000a1b2:status:17", "gateway:alert:quarantine:9",
           "comune-x:gateway:online:1768460400000", "result:baseline:3",
           "0000a1b2:command:1:queued", "0000a1b2:gas:gasday:2026-03-28"]
    for (_topic, payload), want in zip(built, ids, strict=True):
        doc = json.loads(payload)
        validate(doc)
        assert list(doc)[:2] == ["schema", "msg_id"] and doc["msg_id"] == want
