"""Register maps: the built-in Eastron maps, decoding by hand, and errors naming file and key."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from gateway.modbus.errors import MapError
from gateway.modbus.regmap import RegisterSpec, load_map


def test_builtin_maps_hold_the_eastron_addresses() -> None:
    # Eastron input registers (FC04), float32 high word first: 30013 = 0x000C, 30053 = 0x0034,
    # 30073 = 0x0048, 30075 = 0x004A (1-based register number - 30001 = wire address).
    energy = {"import_energy": (0x48, "kWh", "import"),
              "export_energy": (0x4A, "kWh", "export")}
    expected = {"sdm120": {**energy, "power": (0x0C, "W", "import")},
                "sdm630": {**energy, "power": (0x34, "W", "import")}}
    for name, registers in expected.items():
        regmap = load_map(name)
        assert regmap.name == name
        got = {r.name: (r.address, r.unit, r.direction) for r in regmap.registers.values()}
        assert got == registers
        assert {(r.function, r.type, r.word_order, r.scale) for r in regmap.registers.values()} \
            == {(4, "float32", "big", 1.0)}


def spec(kind: str, order: str = "big", scale: float = 1.0, unit: str = "Wh") -> RegisterSpec:
    return RegisterSpec("x", 0, 4, kind, order, scale, unit)


def test_decoding_by_hand() -> None:
    # 1234.5 = 0x449A5000 as an IEEE 754 float32.
    assert spec("float32").decode([0x449A, 0x5000]) == 1234.5
    assert spec("float32", "little").decode([0x5000, 0x449A]) == 1234.5
    assert spec("uint32").decode([0x0001, 0x0002]) == 65538.0
    assert spec("uint32", "little").decode([0x0002, 0x0001]) == 65538.0
    assert spec("int32").decode([0xFFFF, 0xFFFE]) == -2.0
    assert spec("uint16").decode([0xFFFE]) == 65534.0
    assert spec("int16").decode([0xFFFE]) == -2.0
    with pytest.raises(ValueError, match="1 registers, expected 2"):
        spec("float32").decode([1])


def test_scale_and_units_to_wh_and_w() -> None:
    assert spec("uint32", unit="kWh").to_base(12.5) == 12500.0
    assert spec("uint32", scale=0.1, unit="Wh").to_base(123) == pytest.approx(12.3)
    assert spec("int16", scale=10, unit="W").to_base(-7) == -70.0
    assert spec("float32", unit="kW").to_base(1.5) == 1500.0
    assert struct.pack(">f", 1234.5) == bytes([0x44, 0x9A, 0x50, 0x00])   # the hand value above


GOOD = """
[meter]
name = "inverter"
[registers.total]
address = 0x9C87
function = 3
type = "uint32"
word_order = "little"
scale = 0.1
unit = "kWh"
"""


@pytest.mark.parametrize(("body", "key", "message"), [
    (GOOD.replace('type = "uint32"', 'type = "float"'), "registers.total.type",
     "'float' is not one of float32, int32, uint32, int16, uint16"),
    (GOOD.replace("function = 3", "function = 6"), "registers.total.function",
     "6 is not 3 (holding registers) or 4 (input registers)"),
    (GOOD.replace("address = 0x9C87", "address = 70000"), "registers.total.address",
     "70000 is not a register address 0..65535"),
    (GOOD.replace("address = 0x9C87", "address = 65535"), "registers.total.address",
     "uint32 at 65535 runs past 65535"),
    (GOOD.replace('word_order = "little"', 'word_order = "middle"'),
     "registers.total.word_order", "'middle' is not 'big' or 'little'"),
    (GOOD.replace("scale = 0.1", "scale = 0"), "registers.total.scale", "0 is not a number > 0"),
    (GOOD.replace('unit = "kWh"', 'unit = "kVArh"'), "registers.total.unit",
     "'kVArh' is not one of Wh, kWh, W, kW"),
    (GOOD.replace('unit = "kWh"', 'unit = "W"\ndirection = "export"'),
     "registers.total.direction", "only energy registers have a direction"),
    (GOOD + "offset = 3\n", "registers.total.offset", "unknown key"),
    ('[meter]\nname = "x"\n', "registers", "missing or empty"),
    (GOOD + "[extra]\n", "extra", "unknown section"),
    (GOOD.replace('name = "inverter"', 'nmae = "inverter"'), "meter.nmae",
     "unknown key (expected description"),
])
def test_map_errors_name_file_and_key(tmp_path: Path, body: str, key: str,
                                      message: str) -> None:
    path = tmp_path / "inverter.toml"
    path.write_text(body)
    with pytest.raises(MapError) as err:
        load_map(str(path))
    assert err.value.source == str(path)
    assert err.value.key == key
    assert message in err.value.message
    assert str(err.value).startswith(f"{path}: {key}: ")


def test_custom_map_loads(tmp_path: Path) -> None:
    path = tmp_path / "inverter.toml"
    path.write_text(GOOD)
    regmap = load_map(str(path))
    total = regmap.registers["total"]
    assert (regmap.name, total.address, total.function, total.count) == ("inverter", 0x9C87, 3, 2)
    # Low word first: 0x0001_0000 + 0x0002 = 65538 tenths of a kWh = 6553.8 kWh = 6553800 Wh.
    assert round(total.to_base(total.decode([0x0002, 0x0001]))) == 6553800


def test_unreadable_and_unknown_maps(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[registers.x\naddress = 1\n")
    with pytest.raises(MapError, match=r"bad\.toml: is not valid TOML"):
        load_map(str(bad))
    with pytest.raises(MapError, match=r"missing\.toml: cannot be read"):
        load_map(str(tmp_path / "missing.toml"))
    with pytest.raises(MapError, match=r"sdm999: no built-in map of that name \(built-in: "
                                        r"sdm120, sdm630"):
        load_map("sdm999")
