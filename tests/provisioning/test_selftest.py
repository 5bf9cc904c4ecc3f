"""The provisioning self-test runs the firmware's own hardware self-test on the virtual board."""

from __future__ import annotations

import re

from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import Gateway, device_args, last_json


def test_device_and_check_report_the_firmware_selftest_in_order(
        board: VirtualBoard, gateway: Gateway, cli) -> None:
    code, out, err = cli(*device_args(board, gateway, "--site", "lodi",
                                      "--channel", "0:ct:SCT-013-030", "--channel", "1:gas:10",
                                      "--json"))
    assert code == 0, err
    checks = last_json(out)["selftest"]
    # config and modules from the provisioning script, then firmware/selftest.py run(cfg)
    assert list(checks) == ["config", "modules", "adc0", "pulse1", "modem", "heap"]
    status, detail = checks["adc0"]
    # the unfed simulated input rests at mid-rail: no current
    assert status == "ok" and "bias 50.0 % of range" in detail
    assert float(re.search(r"([\d.]+) A rms", detail).group(1)) < 0.05
    assert checks["pulse1"] == ["ok", "idle level 1 (contact open, falling edge)"]
    assert checks["modem"] == ["n/a", "simulated board without a modem"]
    assert checks["heap"][0] == "ok"
    assert checks["modules"][0] == "ok"  # firmware.selftest imports with the rest

    code, out, err = cli("provision", "check", "--port", board.port, "--json")
    assert code == 0, err
    report = last_json(out)
    assert report["ok"] is True
    assert list(report["checks"]) == list(checks)
