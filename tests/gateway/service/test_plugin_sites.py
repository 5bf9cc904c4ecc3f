"""Plugins that name sites in their options get them checked by `gateway check-config`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFIG = """
[gateway]
state_dir = "state"
site = "scuola"

[sites.scuola]
municipality = "LODI"

[plugins.modbus]
[[plugins.modbus.buses]]
name = "quadro"
type = "tcp"
host = "127.0.0.1"
[[plugins.modbus.buses.devices]]
name = "pv"
unit = 1
map = "sdm120"
site = "scoula"
channels = { import_energy = "pv" }

[plugins.alerts.rules.notte]
kind = "closed_building"
site = "palestra"
device = "0000a1b2"
channel = "el1"
open = { "mon-fri" = ["07:30-18:30"] }
base_load_kw = 2.5
"""


def test_unknown_sites_in_plugin_options_are_config_problems(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(CONFIG)
    run = subprocess.run([sys.executable, "-m", "meterkit", "gateway", "check-config",
                          "--config", str(path)], capture_output=True, text=True, timeout=60)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "Traceback" not in out
    assert "plugins.modbus.buses[0].devices[0].site: 'scoula' is not one of the [sites]" in out
    assert "plugins.alerts" in out and "'palestra'" in out
