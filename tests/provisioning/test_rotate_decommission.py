"""Key rotation and decommissioning change the board and the registry together."""

from __future__ import annotations

import json

from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import Gateway, device_args, last_json


def test_rotation_then_decommission(board: VirtualBoard, gateway: Gateway, cli) -> None:
    from gateway.registry import get_device, get_device_key

    gateway.start()
    code, out, err = cli(*device_args(board, gateway, "--id", "0000c001", "--site", "genova",
                                      "--channel", "0:ct:SCT-013-010", "--wait-hello", "30",
                                      "--json"))
    assert code == 0, err
    first = last_json(out)
    old_key = gateway.query(lambda c: get_device_key(c, gateway.box(), "0000c001"))
    first_hello = gateway.query(lambda c: get_device(c, "0000c001")).last_hello_at

    code, out, err = cli("provision", "rotate", "--port", board.port, "--gateway-config",
                         str(gateway.config), "--wait-hello", "30", "--json")
    assert code == 0, err
    rotated = last_json(out)
    new_key = gateway.query(lambda c: get_device_key(c, gateway.box(), "0000c001"))
    assert new_key != old_key and len(new_key) == 16
    assert json.loads((board.root / "config.json").read_text())["key"] == new_key.hex()
    assert rotated["config_hash"] == first["config_hash"]   # the hash blanks the key
    device = gateway.query(lambda c: get_device(c, "0000c001"))
    # The board came back with the new key and the gateway accepted its hello (--wait-hello).
    assert device.last_hello_at > first_hello
    assert device.config_hash == rotated["config_hash"]
    assert device.site == "genova" and device.channels["0"]["ct_model"] == "SCT-013-010"
    assert old_key.hex() not in out and new_key.hex() not in out

    code, out, err = cli("provision", "decommission", "0000c001", "--port", board.port,
                         "--gateway-config", str(gateway.config), "--yes", "--json")
    assert code == 0, err
    assert last_json(out)["board_wiped"] is True
    assert gateway.query(lambda c: get_device(c, "0000c001")) is None
    assert not (board.root / "config.json").exists()


def test_decommission_refuses_another_board(board: VirtualBoard, gateway: Gateway,
                                            cli) -> None:
    from gateway.registry import get_device

    code, _out, err = cli(*device_args(board, gateway, "--id", "0000c002", "--site", "lodi",
                                       "--channel", "1:gas:10", "--json"))
    assert code == 0, err
    code, out, _err = cli("provision", "decommission", "0000c003", "--port", board.port,
                          "--gateway-config", str(gateway.config), "--yes", "--json")
    assert code == 1 and "not 0000c003" in last_json(out)["what"]
    assert gateway.query(lambda c: get_device(c, "0000c002")) is not None
    assert (board.root / "config.json").exists()


def test_a_provisioned_board_is_not_silently_reused(board: VirtualBoard, gateway: Gateway,
                                                    cli) -> None:
    from gateway.registry import get_device

    assert cli(*device_args(board, gateway, "--id", "0000c005", "--site", "lodi",
                            "--channel", "1:gas:10", "--json"))[0] == 0
    code, out, _err = cli(*device_args(board, gateway, "--id", "0000c006", "--site", "lodi",
                                       "--channel", "1:gas:10", "--json"))
    assert code == 1
    error = last_json(out)
    assert "already provisioned as 0000c005" in error["what"]
    assert "decommission 0000c005" in error["todo"]
    assert gateway.query(lambda c: get_device(c, "0000c006")) is None
    assert json.loads((board.root / "config.json").read_text())["device_id"] == 0xC005


def test_a_second_rotation_waits_for_the_board_to_confirm_the_first(
        board: VirtualBoard, gateway: Gateway, cli) -> None:
    # The gateway keeps one previous key, for the backlog the board sealed with it. Until the
    # board has sent a frame with its new key, rotating again would drop the key that backlog
    # still needs.
    from gateway.registry import get_device, get_device_key

    code, _out, err = cli(*device_args(board, gateway, "--id", "0000c004", "--site", "genova",
                                       "--channel", "0:ct:SCT-013-010", "--json"))
    assert code == 0, err
    code, _out, err = cli("provision", "rotate", "--port", board.port, "--gateway-config",
                          str(gateway.config), "--json")     # gateway not running: no hello
    assert code == 0, err
    key = gateway.query(lambda c: get_device_key(c, gateway.box(), "0000c004"))
    code, out, _err = cli("provision", "rotate", "--port", board.port, "--gateway-config",
                          str(gateway.config), "--json")
    assert code == 1 and "not confirmed" in last_json(out)["what"]
    assert gateway.query(lambda c: get_device_key(c, gateway.box(), "0000c004")) == key
    assert json.loads((board.root / "config.json").read_text())["key"] == key.hex()

    gateway.start()      # the board connects with its current key: the rotation is confirmed
    board.power_cycle()  # (now, not after its reconnect backoff)
    _wait(lambda: gateway.query(lambda c: get_device(c, "0000c004")).rotation_confirmed)
    code, _out, err = cli("provision", "rotate", "--port", board.port, "--gateway-config",
                          str(gateway.config), "--json")
    assert code == 0, err
    assert gateway.query(lambda c: get_device_key(c, gateway.box(), "0000c004")) != key


def test_replace_waits_for_an_unconfirmed_rotation_unless_the_backlog_is_given_up(
        board: VirtualBoard, gateway: Gateway, cli) -> None:
    # `provision device --replace` drops the previous key like a second rotation does.
    from gateway.registry import get_device, get_device_key

    args = device_args(board, gateway, "--id", "0000c007", "--site", "genova", "--channel",
                       "0:ct:SCT-013-010", "--no-reboot")
    assert cli(*args, "--json")[0] == 0
    code, _out, err = cli("provision", "rotate", "--port", board.port, "--gateway-config",
                          str(gateway.config), "--json")     # gateway not running: no frame
    assert code == 0, err
    key = gateway.query(lambda c: get_device_key(c, gateway.box(), "0000c007"))
    code, _out, err = cli(*args, "--replace", "--config-only", "--lang", "it")
    assert code == 1
    assert "La sostituzione precedente della chiave non è ancora confermata" in err
    assert "--discard-backlog-key" in err
    assert gateway.query(lambda c: get_device_key(c, gateway.box(), "0000c007")) == key
    assert json.loads((board.root / "config.json").read_text())["key"] == key.hex()

    code, _out, err = cli(*args, "--replace", "--config-only", "--discard-backlog-key", "--json")
    assert code == 0, err
    new_key = gateway.query(lambda c: get_device_key(c, gateway.box(), "0000c007"))
    assert new_key != key and json.loads((board.root / "config.json").read_text())["key"] == \
        new_key.hex()
    assert gateway.query(lambda c: get_device(c, "0000c007")).previous_kept


def _wait(cond, timeout_s: float = 30.0) -> None:
    import time

    end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)
