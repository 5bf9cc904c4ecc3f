"""A board whose flash state was erased restarts its frame counter at 1; the gateway still holds
the counters the device id used before (one frame per counter, a different frame under a
stored counter is a replay). Re-provisioning the id must move the board's counter past them,
or every frame it sends is dropped and it is stuck."""

from __future__ import annotations

import time
from typing import Any

import pytest

from provisioning import flow
from provisioning.board_counter import counter_file
from provisioning.flow import Flashed, Plan, provision
from provisioning.gateway_link import DirectRegistrar
from provisioning.record import DeviceRecord
from provisioning.registrars import BundleRegistrar, Direct
from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import Gateway, device_args, last_json
from tests.provisioning.test_rotation_safety import ScriptedBoard, board_with, ctr_file

DID = "0000c0e5"


def erase_flash(board: VirtualBoard) -> None:
    """`esptool erase_flash` on the virtual board: its files and its flash state are gone."""
    import shutil

    for p in board.root.iterdir():
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
    (board.state_dir / "flash.img").unlink()


def max_counter(gateway: Gateway) -> int:
    return gateway.query(lambda c: c.execute(
        "SELECT max(counter) FROM frames WHERE device_id = ?", (DID,)).fetchone()[0] or 0)


def hellos_above(gateway: Gateway, counter: int) -> list[int]:
    return gateway.query(lambda c: [r[0] for r in c.execute(
        "SELECT counter FROM frames WHERE device_id = ? AND type = 'hello' AND counter > ?",
        (DID, counter))])


def test_an_erased_board_re_provisioned_under_its_id_is_not_stuck(
        board: VirtualBoard, gateway: Gateway, cli) -> None:
    from gateway.registry import get_device

    gateway.start()
    args = device_args(board, gateway, "--id", DID, "--site", "lodi", "--channel", "1:gas:10")
    code, _out, err = cli(*args, "--wait-hello", "30", "--json")
    assert code == 0, err
    first_hello = gateway.query(lambda c: get_device(c, DID)).last_hello_at
    old_max = max_counter(gateway)
    assert old_max >= 1

    erase_flash(board)     # e.g. esptool erase_flash: the counter file is gone with the rest
    time.sleep(1.1)        # last_hello_at has a one-second resolution
    code, out, err = cli(*args, "--replace", "--json")
    assert code == 0, err
    result = last_json(out)
    assert result["counter_raised_to"] == old_max + 1

    # The board's first frames after the reset carry counters above every stored one: stored,
    # so acknowledged, and the gateway sees the board's new hello.
    _wait(lambda: hellos_above(gateway, old_max))
    assert min(hellos_above(gateway, old_max)) == old_max + 1
    assert gateway.query(lambda c: get_device(c, DID)).last_hello_at > first_hello
    assert b"replay" not in (gateway.workdir / "ingest.log").read_bytes()


def test_a_board_already_above_the_stored_counters_is_left_alone(
        board: VirtualBoard, gateway: Gateway, cli) -> None:
    gateway.start()
    args = device_args(board, gateway, "--id", DID, "--site", "lodi", "--channel", "1:gas:10")
    code, _out, err = cli(*args, "--wait-hello", "30", "--json")
    assert code == 0, err
    old_max = max_counter(gateway)
    code, out, err = cli(*args, "--replace", "--config-only", "--json")
    assert code == 0, err
    assert last_json(out)["counter_raised_to"] is None   # its own reservation is above them
    _wait(lambda: hellos_above(gateway, old_max))


# -- the same with a scripted ESP32 (the board's /data/ctr), the flash step stubbed out ----------

@pytest.fixture
def direct(gateway: Gateway) -> Direct:
    d = Direct(DirectRegistrar(gateway.config))
    d.apply(d.check(DeviceRecord(DID, "add", 1_800_000_000, site="lodi", key=bytes(16))))
    # the frames the board sent before: counters 1..70
    d.link.run(lambda c: c.executemany(
        "INSERT INTO frames (device_id, counter, type, raw, received_at) "
        "VALUES (?, ?, 'readings', x'00', 1)", [(DID, n) for n in range(1, 71)]))
    return d


@pytest.fixture
def flashed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stub `flow.flash`: records the board's counter file and resets when it was called."""
    calls: list[dict[str, Any]] = []

    def fake_flash(board: ScriptedBoard, _info: Any, _cfg: Any, _image: Any, *,
                   out: Flashed, **_kw: Any) -> Flashed:
        calls.append({"ctr": board.files.get("/data/ctr"), "resets": board.resets})
        out.config_written = True
        board.reset()
        return out

    monkeypatch.setattr(flow, "flash", fake_flash)
    return calls


def _plan() -> Plan:
    return Plan(int(DID, 16), "lodi", (), "127.0.0.1", 4000, replace=True)


def _key_first_counter(direct: Direct) -> int | None:
    from gateway.registry import get_key_state

    state = direct.link.run(lambda c: get_key_state(c, DID), write=False)
    return state.first_counter


@pytest.mark.parametrize("limit", [None, 1, 70])    # erased board; a board at or below the max
def test_a_board_below_the_stored_counters_is_moved_past_them_before_its_reset(
        direct: Direct, flashed: list[dict[str, Any]], limit: int | None) -> None:
    board = board_with(limit)
    out = provision(_plan(), board, direct, None, expect_fw=(1, 1, 0), now=1_800_000_100)
    assert out.stored_counter == 70 and out.counter_raised_to == 71 == out.counter_limit
    assert not out.counter_unknown
    assert board.files["/data/ctr"] == ctr_file(71) == counter_file(71)
    assert flashed == [{"ctr": ctr_file(71), "resets": 0}]   # written before the reset
    assert board.resets == 1
    assert _key_first_counter(direct) == 71     # the old key: only frames below it


def test_a_board_above_the_stored_counters_is_not_written(
        direct: Direct, flashed: list[dict[str, Any]]) -> None:
    board = board_with(128)
    out = provision(_plan(), board, direct, None, expect_fw=(1, 1, 0), now=1_800_000_100)
    assert out.counter_raised_to is None and out.counter_limit == 128
    assert board.files["/data/ctr"] == ctr_file(128)
    assert _key_first_counter(direct) == 128


def test_a_board_whose_counter_is_not_reachable_is_reported(
        direct: Direct, flashed: list[dict[str, Any]]) -> None:
    board = board_with(None, platform="rp2")
    out = provision(_plan(), board, direct, None, expect_fw=(1, 1, 0), now=1_800_000_100)
    assert out.counter_unknown and out.counter_raised_to is None and out.stored_counter == 70
    assert "/data/ctr" not in board.files and not board.runs
    from provisioning.messages import t

    assert "70" in t("counter_unknown_stored", "en", id=DID, max=70)
    assert "70" in t("counter_unknown_stored", "it", id=DID, max=70)
    assert "continue at 71" in t("counter_raised", "en", id=DID, max=70, limit=71)
    assert "proseguire da 71" in t("counter_raised", "it", id=DID, max=70, limit=71)


def test_a_new_id_is_not_touched(gateway: Gateway, flashed: list[dict[str, Any]]) -> None:
    d = Direct(DirectRegistrar(gateway.config))
    board = board_with(1)
    plan = Plan(0xC0E6, "lodi", (), "127.0.0.1", 4000, replace=True)
    out = provision(plan, board, d, None, expect_fw=(1, 1, 0), now=1_800_000_100)
    assert out.stored_counter is None and out.counter_raised_to is None
    assert board.files["/data/ctr"] == ctr_file(1)


def test_offline_the_record_carries_the_board_counter_limit(
        tmp_path: Any, flashed: list[dict[str, Any]]) -> None:
    from provisioning.bundle import new_gateway_keypair, new_installer_keypair

    _gw_priv, gw_pub = new_gateway_keypair()
    in_priv, _in_pub = new_installer_keypair()
    reg = BundleRegistrar(tmp_path / "b.mkb", gateway_public=gw_pub, installer_private=in_priv)
    board = board_with(None)                            # erased: starts at 1
    out = provision(_plan(), board, reg, None, expect_fw=(1, 1, 0), now=1_800_000_100)
    assert out.counter_raised_to is None and not out.counter_unknown
    assert reg.records[DID].first_counter == 1          # the import can refuse it


def _wait(cond: Any, timeout_s: float = 30.0) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)
