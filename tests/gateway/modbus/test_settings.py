"""``[plugins.modbus]`` validation: every problem with its key path, through the real loader."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gateway.config import check_config
from gateway.modbus.plugin import ModbusPlugin
from gateway.modbus.settings import parse_settings

EXAMPLE = Path(__file__).parents[3] / "gateway" / "modbus" / "example.toml"


def bus(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "b", "type": "tcp", "host": "127.0.0.1",
        "devices": [{"name": "m", "unit": 1, "map": "sdm630",
                     "channels": {"import_energy": "imp"}}]}
    base.update(over)
    return base


def test_example_config_is_valid_and_complete() -> None:
    options = tomllib.loads(EXAMPLE.read_text())["plugins"]["modbus"]
    settings, problems = parse_settings(options)
    assert problems == []
    assert settings is not None
    assert [(b.name, b.type, len(b.devices)) for b in settings.buses] == [
        ("rs485", "rtu", 2), ("palestra", "tcp", 1)]
    assert (settings.interval_s, settings.power_period_s) == (900, 60)
    entries = ModbusPlugin.registry_entries(options)
    assert entries["modbus:fotovoltaico"] == {
        "site": "scuola",
        "channels": {"produzione": {"name": "produzione", "kind": "electric",
                                    "modulus": None, "unit": "Wh_export"}}}
    assert entries["modbus:quadro-generale"]["channels"]["prelievo"]["unit"] == "Wh"


@pytest.mark.parametrize(("options", "problem"), [
    ({}, "buses: missing"),
    ({"buses": [bus()], "interval_s": 600}, "interval_s: 600 is not 900 or 3600"),
    ({"buses": [bus()], "polling": 1}, "polling: unknown key"),
    ({"buses": [bus()], "backoff": {"jitter": 2}}, "backoff.jitter: 2 is not a fraction 0..1"),
    ({"buses": [bus(type="udp")]}, "buses[0].type: 'udp' is not 'tcp' or 'rtu'"),
    ({"buses": [bus(serial="/dev/ttyUSB0")]}, "buses[0].serial: only for type = 'rtu'"),
    ({"buses": [bus(type="rtu", host=None)]}, "buses[0].serial: '' is not a serial device"),
    ({"buses": [bus(), bus(name="c")]},
     "buses[1]: bus address 'tcp:127.0.0.1:502' is already used at buses[0]; list every"),
    ({"buses": [bus(devices=[{"name": "m", "unit": 1, "map": "sdm630",
                              "channels": {"import_energy": "a"}},
                             {"name": "m", "unit": 2, "map": "sdm120",
                              "channels": {"import_energy": "a"}}])]},
     "buses[0].devices[1].name: device name 'm' is already used at buses[0].devices[0].name"),
    ({"buses": [bus(devices=[{"name": "m", "unit": 1, "map": "sdm630",
                              "channels": {"reactive": "q"}}])]},
     "buses[0].devices[0].channels.reactive: map sdm630 has no register 'reactive'"),
    ({"buses": [bus(devices=[{"name": "m", "unit": 1, "map": "sdm630",
                              "channels": {"import_energy": "a", "export_energy": "a"}}])]},
     "buses[0].devices[0].channels.export_energy: channel name 'a' is used twice"),
    ({"buses": [bus(devices=[{"name": "m:1", "unit": 1, "map": "sdm630",
                              "channels": {"import_energy": "a"}}])]},
     "buses[0].devices[0].name: 'm:1' is not a name"),
    ({"buses": [bus(type="rtu", host=None, serial="/dev/ttyUSB0",
                    devices=[{"name": "m", "unit": 0, "map": "sdm630",
                              "channels": {"import_energy": "a"}}])]},
     "buses[0].devices[0].unit: 0 is not a unit id 1..247"),
    ({"buses": [bus(devices=[{"name": "m", "unit": 1, "map": "sdm999",
                              "channels": {"import_energy": "a"}}])]},
     "buses[0].devices[0].map: sdm999: no built-in map of that name"),
    # 60 s x 6 tries of a silent first meter: everything after it on the bus comes too late
    ({"buses": [bus(timeout_s=60, retries=5)]},
     "buses[0]: 1 device(s) x timeout_s 60 x (retries 5 + 1) = 360 s, not below max_lag_s 60"),
    ({"buses": [bus(timeout_s=20, retries=0, devices=[
        {"name": f"m{k}", "unit": k, "map": "sdm120", "channels": {"import_energy": f"c{k}"}}
        for k in (1, 2, 3)])], "max_lag_s": 60},
     "buses[0]: 3 device(s) x timeout_s 20 x (retries 0 + 1) = 60 s, not below max_lag_s 60"),
])
def test_problems_carry_key_paths(options: dict[str, object], problem: str) -> None:
    options = {k: v for k, v in options.items()}
    for b in options.get("buses", []):   # type: ignore[union-attr]
        if b.get("host", "x") is None:
            del b["host"]
    settings, problems = parse_settings(options)
    assert settings is None
    assert any(p.startswith(problem) for p in problems), problems


def test_a_broken_map_file_is_reported_by_gateway_check(tmp_path: Path) -> None:
    (tmp_path / "inverter.toml").write_text(
        '[registers.total]\naddress = 1\nfunction = 4\ntype = "float"\nunit = "kWh"\n')
    path = tmp_path / "gateway.toml"
    path.write_text(f"""
[gateway]
state_dir = "state"
db_path = "state/gateway.db"
secret_file = "state/secret"

[sites.lodi]
municipality = "LODI"
gas_kwh_per_smc = 9.4227

[plugins.modbus]
[[plugins.modbus.buses]]
name = "b"
type = "tcp"
host = "10.0.0.2"
[[plugins.modbus.buses.devices]]
name = "inverter"
unit = 3
map = "{tmp_path / 'inverter.toml'}"
channels = {{ total = "pv" }}
""")
    problems = check_config(path, plugins={"modbus": ModbusPlugin})
    assert [(p.key, p.message) for p in problems] == [(
        "plugins.modbus.buses[0].devices[0].map",
        f"{tmp_path / 'inverter.toml'}: registers.total.type: 'float' is not one of "
        "float32, int32, uint32, int16, uint16")]


def test_device_sites_are_checked_against_the_configured_sites() -> None:
    options = {"buses": [bus(devices=[
        {"name": "m", "unit": 1, "map": "sdm630", "site": "scoula",
         "channels": {"import_energy": "imp"}},
        {"name": "n", "unit": 2, "map": "sdm120", "site": "scuola",
         "channels": {"import_energy": "pv"}}])]}
    assert ModbusPlugin.validate_config(options) == []
    assert ModbusPlugin.validate_config(options, {"scuola": {}, "palestra": {}}) == [
        "buses[0].devices[0].site: 'scoula' is not one of the [sites] tables (palestra, "
        "scuola); correct it or add [sites.scoula]"]
