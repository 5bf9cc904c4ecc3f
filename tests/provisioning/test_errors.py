"""Errors an installer meets on site: each is specific and says what to do next."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import serial

from provisioning.board import Board, open_serial
from provisioning.errors import BoardNotMicroPython, VerificationMismatch
from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import Gateway, device_args, last_json


def test_missing_port(cli, tmp_path: Path) -> None:
    code, out, _err = cli("provision", "check", "--port", str(tmp_path / "ttyUSB7"), "--json")
    assert code == 1
    error = last_json(out)
    assert error["error"] == "port_missing" and "USB cable" in error["todo"]


def test_missing_port_in_italian(cli, tmp_path: Path) -> None:
    code, _out, err = cli("provision", "check", "--port", str(tmp_path / "ttyUSB7"),
                          "--lang", "it")
    assert code == 1
    assert "Porta seriale non trovata" in err and "Cosa fare" in err


def test_busy_port(board: VirtualBoard, cli) -> None:
    holder = serial.Serial(board.port, exclusive=True)
    try:
        code, out, _err = cli("provision", "check", "--port", board.port, "--json")
    finally:
        holder.close()
    assert code == 1
    error = last_json(out)
    assert error["error"] == "port_busy" and "mpremote" in error["todo"]


def test_a_modem_is_not_micropython() -> None:
    """Something that answers, but not with a raw REPL (here: an AT modem saying OK)."""
    master, slave = os.openpty()
    stop = threading.Event()

    def modem() -> None:
        while not stop.is_set():
            try:
                if os.read(master, 256):
                    os.write(master, b"\r\nOK\r\n")
            except OSError:
                return

    threading.Thread(target=modem, daemon=True).start()
    try:
        board = Board(open_serial(os.ttyname(slave)), window_s=1.0)
        with pytest.raises(BoardNotMicroPython) as info:
            board.connect()
        assert "OK" in info.value.why and "MicroPython" in info.value.todo
        board.close()
    finally:
        stop.set()
        os.close(slave)
        os.close(master)


def test_wrong_firmware_version_with_config_only(board: VirtualBoard, gateway: Gateway,
                                                 cli) -> None:
    from gateway.registry import list_devices

    (board.root / "firmware").mkdir()
    (board.root / "firmware" / "app.py").write_text("FW_VERSION = (0, 9, 0)\n")
    code, out, _err = cli(*device_args(board, gateway, "--site", "lodi", "--channel",
                                       "1:gas:10", "--config-only", "--json"))
    assert code == 1
    error = last_json(out)
    assert error["error"] == "firmware_version" and "0.9.0" in error["what"]
    assert "without --config-only" in error["todo"]
    assert gateway.query(list_devices) == []          # registration rolled back
    assert not (board.root / "config.json").exists()


class _Corrupting:
    """A serial port whose cable flips a bit in one chunk (base64 'QUFB' -> 'QUFC')."""

    def __init__(self, ser: serial.Serial) -> None:
        self._ser = ser
        self.port = ser.port
        self.done = False

    def write(self, data: bytes) -> int | None:
        if not self.done and b"QUFB" in data:
            data = data.replace(b"QUFB", b"QUFC", 1)
            self.done = True
        return self._ser.write(data)

    def __getattr__(self, name: str):  # read, in_waiting, reset_input_buffer, close
        return getattr(self._ser, name)


def test_verification_mismatch_keeps_the_old_file(board: VirtualBoard) -> None:
    (board.root / "firmware").mkdir()
    old = b"# the previous version\n"
    (board.root / "firmware" / "ct.py").write_bytes(old)
    wire = _Corrupting(open_serial(board.port))
    b = Board(wire)
    try:
        b.connect()
        with pytest.raises(VerificationMismatch) as info:
            b.put_file("firmware/ct.py", b"A" * 300)
    finally:
        b.close()
    assert wire.done
    assert "old file was kept" in info.value.todo
    assert (board.root / "firmware" / "ct.py").read_bytes() == old
    assert not (board.root / "firmware" / "ct.py.new").exists()


def test_gateway_config_unreadable(board: VirtualBoard, cli, tmp_path: Path) -> None:
    code, out, _err = cli("provision", "device", "--port", board.port, "--target", "unix",
                          "--gateway-config", str(tmp_path / "nope.toml"), "--gateway-host",
                          "127.0.0.1", "--channel", "1:gas:10", "--json")
    assert code == 1
    error = last_json(out)
    assert error["error"] == "gateway_unreachable" and "--bundle" in error["todo"]


def test_board_never_reaches_a_stopped_gateway(board: VirtualBoard, gateway: Gateway,
                                               cli) -> None:
    code, out, _err = cli(*device_args(board, gateway, "--site", "lodi", "--channel",
                                       "1:gas:10", "--wait-hello", "3", "--json"))
    assert code == 1
    error = last_json(out)
    assert error["error"] == "gateway_unreachable"
    assert "has not reported" in error["what"] and "antenna" in error["todo"]


def test_check_gateway_reports_an_unreachable_ingest(board: VirtualBoard, gateway: Gateway,
                                                     cli) -> None:
    from gateway.registry import list_devices

    code, out, _err = cli(*device_args(board, gateway, "--site", "lodi", "--channel",
                                       "1:gas:10", "--check-gateway", "--json"))
    assert code == 1
    error = last_json(out)
    assert error["error"] == "gateway_unreachable"
    assert error["where"] == f"127.0.0.1:{gateway.port}"
    assert gateway.query(list_devices) == [] and not (board.root / "config.json").exists()
