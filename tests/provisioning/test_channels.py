"""CT model defaults, channel validation errors, and the config the board validates itself."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from provisioning.channels import parse_channel, parse_channels
from provisioning.ct_models import CT_MODELS, find_model, max_measurable_a
from provisioning.device_config import DeviceConfig
from provisioning.errors import ChannelError


def test_voltage_output_model_sets_amps_per_volt() -> None:
    c = parse_channel("0:ct:SCT-013-030")
    assert (c.model, c.ct_ratio, c.burden_ohm, c.nominal_v, c.pf) == (
        "SCT-013-030", 30.0, 1.0, 230.0, 1.0)
    assert c.board() == {"id": 0, "type": "ct", "ct_ratio": 30.0, "burden_ohm": 1.0,
                         "nominal_v": 230.0, "pf": 1.0, "interval_s": 900}
    assert c.registry()["kind"] == "electric" and c.name == "el1"


def test_current_output_model_uses_turns_ratio_and_board_burden() -> None:
    c = parse_channel("2:ct:sct013-000:burden_ohm=22:name=pompa")
    assert (c.model, c.ct_ratio, c.burden_ohm, c.name) == ("SCT-013-000", 2000, 22.0, "pompa")
    # 100 A : 50 mA across 22 Ω peaks at 1.56 V, inside the ±1.65 V the ADC can see.
    assert max_measurable_a(c.ct_ratio, c.burden_ohm) == pytest.approx(1.65 * 2000 / 22 /
                                                                       math.sqrt(2))
    assert c.warnings == ()


def test_clipping_default_is_warned_and_an_impossible_max_a_refused() -> None:
    assert "clip above 70.7 A" in parse_channel("0:ct:SCT-013-000").warnings[0]
    with pytest.raises(ChannelError, match=r"max_a=90 A is above .* \(70.7 A\)"):
        parse_channel("0:ct:SCT-013-000:max_a=90")


def test_gas_channel_defaults() -> None:
    c = parse_channel("1:gas:10")
    assert c.board() == {"id": 1, "type": "pulse", "litres_per_pulse": 10.0, "unit": "L",
                         "interval_s": 3600, "edge": "falling"}
    assert c.registry() == {"name": "gas", "kind": "gas", "unit": "L", "factor": 1,
                            "litres_per_pulse": 10.0}
    assert "unusual" in parse_channel("1:gas:2.5").warnings[0]


@pytest.mark.parametrize("spec, where, message", [
    ("0:ct:SCT-999", "channel 0", "CT model 'SCT-999' is not known"),
    ("0:ct:SCT-013-030:nominal_v=400000", "channel 0", "nominal_v=400000 is outside 100..440"),
    ("0:ct:SCT-013-030:pf=abc", "channel 0", "pf='abc' is not a number"),
    ("0:ct:SCT-013-030:burden_ohm=33", "channel 0", "has its burden inside"),
    ("0:ct:SCT-013-030:ratio=10", "channel 0", "ratio= is fixed by the model"),
    ("0:ct:custom", "channel 0", "a custom CT needs ratio="),
    ("0:ct:SCT-013-030:interval_s=1800", "channel 0", "interval_s=1800 is not 900 or 3600"),
    ("1:gas:0", "channel 1", "litres per pulse=0 is outside 0.001..1000"),
    ("1:gas:10:edge=up", "channel 1", "edge='up' is not falling or rising"),
    ("300:gas:10", "channel '300:gas:10'", "index=300 is outside 0..254"),
    ("0:water:1", "channel 0", "type 'water' is not ct or gas"),
    ("0:ct", "channel '0:ct'", "expected INDEX:ct:MODEL"),
    ("0:ct:SCT-013-030:colour=red", "channel '0:ct:SCT-013-030:colour=red'",
     "'colour=red' is not a setting"),
])
def test_validation_errors_name_the_channel_and_value(spec: str, where: str,
                                                      message: str) -> None:
    with pytest.raises(ChannelError) as info:
        parse_channel(spec)
    assert info.value.where == where
    assert message in info.value.what
    assert info.value.todo


def test_duplicates_and_empty_lists_are_refused() -> None:
    with pytest.raises(ChannelError, match="index 0 is used twice"):
        parse_channels(["0:ct:SCT-013-030", "0:gas:10"])
    with pytest.raises(ChannelError, match="name 'x' is used twice"):
        parse_channels(["0:ct:SCT-013-030:name=x", "1:gas:10:name=x"])
    with pytest.raises(ChannelError, match="no channels"):
        parse_channels([])


def test_every_model_resolves_and_fits_the_firmware_ranges() -> None:
    for name, model in CT_MODELS.items():
        assert find_model(name.lower()) is model
        assert 1 <= model.ct_ratio <= 1_000_000 and 0.001 <= model.burden_ohm() <= 100_000


def test_config_hash_matches_the_firmware_definition(tmp_path: Path) -> None:
    """The hash the tool expects is the one the firmware computes (firmware/config.py, run
    under MicroPython on the very file the tool writes): the board reports it in its hello."""
    from tests.support.micropython import run_micropython

    key = bytes(range(16))
    cfg = DeviceConfig(0xA1B2, key, "gw", 4590,
                       (parse_channel("0:ct:SCT-013-030"), parse_channel("1:gas:10")),
                       modem={"apn": "iot.1nce.net"})
    text = cfg.text()
    assert json.loads(text)["key"] == key.hex()
    (tmp_path / "config.json").write_text(text)
    script = tmp_path / "hash.py"
    script.write_text("from firmware import config\n"
                      "cfg, errors, h = config.load('config.json')\n"
                      "print(errors)\n"
                      "print(h & 0xFFFFFFFF)\n")
    done = run_micropython(script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    errors, board_hash = done.stdout.decode().split()[-2:]
    assert errors == "[]"
    assert cfg.hash() == int(board_hash)
    # A different key gives the same hash (the key is blanked), other settings do not.
    other = DeviceConfig(0xA1B2, bytes(16), "gw", 4590, cfg.channels, modem=cfg.modem)
    assert other.hash() == cfg.hash()
    assert DeviceConfig(0xA1B3, key, "gw", 4590, cfg.channels).hash() != cfg.hash()
    assert "<hidden>" in repr(cfg) and key.hex() not in repr(cfg)
