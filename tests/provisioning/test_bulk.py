"""Roll-out from a CSV: a bad row and a missing board fail alone, the counts are exact."""

from __future__ import annotations

from pathlib import Path

from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import Gateway, last_json


def test_bulk_with_one_bad_row_and_one_missing_board(board: VirtualBoard, gateway: Gateway,
                                                     cli, tmp_path: Path) -> None:
    from gateway.registry import list_devices

    csv = tmp_path / "rollout.csv"
    csv.write_text(
        "port,device_id,site,building,channels\n"
        f"{board.port},00000b01,lodi,scuola,0:ct:SCT-013-050;1:gas:10\n"
        f"{board.port},00000b02,lodi,scuola,0:ct:SCT-999\n"
        f"{tmp_path}/ttyUSB9,00000b03,genova,municipio,0:ct:SCT-013-030\n")
    code, out, err = cli("provision", "bulk", str(csv), "--target", "unix",
                         "--gateway-config", str(gateway.config), "--gateway-host", "127.0.0.1",
                         "--gateway-port", str(gateway.port), "--label-dir",
                         str(tmp_path / "labels"), "--json")
    assert code == 1, err
    summary = last_json(out)
    assert (summary["ok"], summary["failed"], summary["total"]) == (1, 2, 3)
    rows = {r["line"]: r for r in summary["rows"]}
    assert rows[2]["ok"] and rows[2]["device_id"] == "00000b01"
    assert rows[3]["code"] == "channel" and "SCT-999" in rows[3]["message"]
    assert rows[4]["code"] == "port_missing"
    # Only the provisioned board is registered: the missing board's registration was undone.
    devices = gateway.query(list_devices)
    assert [d.device_id for d in devices] == ["00000b01"]
    assert devices[0].channels["0"]["ct_model"] == "SCT-013-050"
    assert sorted(p.name for p in (tmp_path / "labels").iterdir()) == [
        "label-00000b01.png", "label-00000b01.txt"]


def test_bulk_table_counts_for_people(board: VirtualBoard, gateway: Gateway, cli,
                                      tmp_path: Path) -> None:
    csv = tmp_path / "rollout.csv"
    csv.write_text("port,site,channels\n"
                   f"{board.port},nowhere,1:gas:10\n"
                   f"{board.port},lodi,1:gas:abc\n")
    code, out, _err = cli("provision", "bulk", str(csv), "--target", "unix", "--lang", "it",
                          "--gateway-config", str(gateway.config), "--gateway-host", "127.0.0.1")
    assert code == 1
    assert "0 riusciti, 2 falliti, 2 totali" in out
    assert "registration" in out and "channel" in out
