"""Channel maps the normaliser could not use are refused at registration, naming the field."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gateway.normaliser.convert import ELECTRIC_UNITS, GAS_UNITS
from gateway.registry import (
    CHANNEL_UNITS,
    RegistryError,
    add_device,
    channels_from_pairs,
    get_device,
    validate_channels,
)
from gateway.store.db import Database
from gateway.store.keybox import KeyBox


@pytest.mark.parametrize(("channels", "field", "words"), [
    ({0: {"name": "el1", "kind": "electric", "unit": "pulse"}}, "channels.0.factor",
     "pulse channel needs 'factor'"),
    ({0: {"name": "el1", "kind": "gas", "unit": "Wh"}}, "channels.0.unit",
     "'Wh' does not fit kind 'gas'"),
    ({1: {"name": "g", "kind": "electric", "unit": "L"}}, "channels.1.unit",
     "'L' does not fit kind 'electric'"),
    ({1: {"name": "g", "kind": "gas", "unit": "pulse", "factor": 0}}, "channels.1.factor",
     "positive number, got 0"),
    ({1: {"name": "g", "kind": "gas", "unit": "pulse", "factor": -10}}, "channels.1.factor",
     "positive number, got -10"),
    ({1: {"name": "g", "kind": "gas", "unit": "pulse", "factor": True}}, "channels.1.factor",
     "positive number, got True"),
    ({1: {"name": "g", "kind": "gas", "factor": "10"}}, "channels.1.factor",
     "positive number, got '10'"),
    ({1: {"name": "g", "kind": "gas", "factor": float("nan")}}, "channels.1.factor",
     "positive number"),
    ({0: {"name": "e", "kind": "electric", "modulus": 1}}, "channels.0.modulus",
     "integer >= 2"),
    ({0: {"name": "a", "kind": "electric"}, "0": {"name": "b", "kind": "electric"}},
     "channels.0", "index 0 is given twice"),
    ({"01": {"name": "a", "kind": "electric"}, 1: {"name": "b", "kind": "electric"}},
     "channels.1", "index 1 is given twice"),
    ({256: {"name": "a", "kind": "electric"}}, "channels.256", "out of range"),
])
def test_bad_channel_maps_are_refused(channels: dict[Any, Any], field: str, words: str) -> None:
    with pytest.raises(RegistryError) as err:
        validate_channels(channels)
    assert err.value.field == field
    assert words in str(err.value)


def test_good_channel_maps_pass_with_canonical_keys() -> None:
    got = validate_channels({
        "00": {"name": "el1", "kind": "electric", "unit": "Wh"},
        1: {"name": "gas", "kind": "gas", "unit": "pulse", "factor": 10},
        2: {"name": "pv", "kind": "electric", "unit": "Wh_export", "factor": 1.02},
        3: {"name": "m", "kind": "electric", "modulus": None},
        "el_import": {"name": "el_import", "kind": "electric", "unit": "Wh"},   # plugin name
    })
    assert sorted(got) == ["0", "1", "2", "3", "el_import"]
    assert got["1"] == {"name": "gas", "kind": "gas", "unit": "pulse", "factor": 10}


def test_repeated_cli_channel_index_is_an_error_not_an_overwrite() -> None:
    pairs = [("0", {"name": "el1", "kind": "electric", "unit": "Wh"}),
             ("0", {"name": "el2", "kind": "electric", "unit": "Wh"})]
    assert len(dict(pairs)) == 1          # what a plain dict() would silently keep
    with pytest.raises(RegistryError) as err:
        channels_from_pairs(pairs)
    assert err.value.field == "channels.0" and "given twice" in str(err.value)
    ok = channels_from_pairs([("0", pairs[0][1]), ("1", {"name": "g", "kind": "gas",
                                                         "unit": "L"})])
    assert sorted(ok) == ["0", "1"]


def test_registry_units_are_the_normaliser_units() -> None:
    assert set(CHANNEL_UNITS["electric"]) == set(ELECTRIC_UNITS)
    assert set(CHANNEL_UNITS["gas"]) == set(GAS_UNITS)


async def test_add_device_refuses_and_stores_nothing(tmp_path: Path) -> None:
    box = KeyBox.load_or_create(tmp_path / "secret")
    db = await Database.open(tmp_path / "gw.db")
    try:
        with pytest.raises(RegistryError) as err:
            await db.write(add_device, box, 0x0000A1B2, bytes(16), site="s",
                           channels={0: {"name": "el1", "kind": "electric", "unit": "pulse"}})
        assert err.value.field == "channels.0.factor"

        def read(conn: sqlite3.Connection) -> Any:
            return get_device(conn, "0000a1b2")
        assert await db.read(read) is None
    finally:
        await db.close()
