"""Plugins are found through the `meterkit.plugins` entry-point group, built-ins included.

A third-party package is made real on disk: a module and a ``.dist-info`` directory with
``METADATA`` and ``entry_points.txt``, put on the path of a separate Python process through
PYTHONPATH, exactly as pip would install it. The gateway process then discovers it, validates
its config table, runs it and shows its own snapshot in status.json and `gateway status`.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gateway.config import load_config
from tests.gateway.service.conftest import write_config

REPO = Path(__file__).resolve().parents[3]
BUILTINS = {"alerts", "baseline", "cer", "expected_profile", "modbus"}

PLUGIN_SOURCE = '''
"""A third-party plugin: publishes one greeting at start, counts its own calls."""
from gateway.model import PluginResult


class Greeter:
    schedule_s = None

    @classmethod
    def validate_config(cls, config):
        return [f"{k}: unknown key (expected greeting)" for k in config if k != "greeting"]

    def __init__(self, config, context):
        self.ctx = context
        self.greeting = config.get("greeting", "hello")
        self.published = 0

    async def start(self):
        await self.ctx.publish(PluginResult(plugin=self.ctx.name, name="greeting",
                                            payload={"text": self.greeting}))
        self.published += 1

    def snapshot(self):
        return {"greeting": self.greeting, "published": self.published}
'''


class _Unchecked:
    """Stands in for the plugin class when this test process reads the config's paths."""

    @classmethod
    def validate_config(cls, config: dict[str, object]) -> list[str]:
        return []


def third_party_package(root: Path) -> Path:
    """`mk_greeter` 1.0 as pip lays it out: the module plus its dist-info with entry points.
    It also (wrongly) claims the built-in name "alerts", which discovery must refuse."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "mk_greeter.py").write_text(PLUGIN_SOURCE)
    info = root / "mk_greeter-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mk-greeter\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[meterkit.plugins]\ngreeter = mk_greeter:Greeter\nalerts = mk_greeter:Greeter\n")
    return root


def _discover(env: dict[str, str], *python_flags: str, cwd: Path) -> dict[str, str]:
    code = ("import json; from gateway.plugins.host import discover_plugins; s = {}; "
            "found = discover_plugins(sources=s); "
            "print(json.dumps({n: [s[n], f'{c.__module__}:{c.__qualname__}'] "
            "for n, c in found.items()}))")
    run = subprocess.run([sys.executable, *python_flags, "-c", code], env=env, cwd=cwd,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_third_party_and_builtin_plugins_come_from_entry_points(tmp_path: Path) -> None:
    pkg = third_party_package(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pkg), str(REPO)])}
    found = _discover(env, cwd=tmp_path)
    assert found["greeter"] == ["entry point (mk-greeter)", "mk_greeter:Greeter"]
    # built-ins resolve through meterkit's own entry points; "alerts" is not taken over
    assert set(found) == BUILTINS | {"greeter"}
    for name in BUILTINS:
        assert found[name][0] == "entry point (meterkit)", found[name]
    assert found["alerts"][1] == "gateway.alerts.plugin:AlertsPlugin"


def test_builtins_fall_back_when_package_metadata_is_missing(tmp_path: Path) -> None:
    # A source tree without any installed metadata: the repo's packages and the venv's
    # dependencies, but neither meterkit's dist-info nor its egg-info (`-S`: no site, no .pth).
    src, deps = tmp_path / "src", tmp_path / "deps"
    src.mkdir()
    deps.mkdir()
    for name in ("gateway", "protocol", "meterkit", "provisioning", "simulator", "firmware"):
        if (REPO / name).is_dir():
            (src / name).symlink_to(REPO / name)
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    for entry in site.iterdir():
        if "meterkit" not in entry.name.lower():
            (deps / entry.name).symlink_to(entry)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(deps)])}
    found = _discover(env, "-S", cwd=tmp_path)
    assert {n: s for n, (s, _) in found.items()} == {n: "built-in fallback" for n in BUILTINS}


def test_an_installed_plugin_runs_when_enabled_and_reports_its_snapshot(tmp_path: Path) -> None:
    pkg = third_party_package(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pkg), str(REPO)])}
    path = write_config(tmp_path, extra='[plugins.greeter]\ngreeting = "ciao"\n')
    check = subprocess.run([sys.executable, "-m", "meterkit", "gateway", "check-config",
                            "--config", str(path)], env=env, capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    log = (tmp_path / "gateway.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "meterkit", "gateway", "run", "--config",
                             str(path)], env=env, cwd=tmp_path, stdout=log,
                            stderr=subprocess.STDOUT)
    config = load_config(path, plugins={"greeter": _Unchecked})
    status_file = config.gateway.state_dir / "status.json"
    try:
        deadline = time.monotonic() + 30
        plugin: dict[str, object] = {}
        while time.monotonic() < deadline and plugin.get("plugin") != {
                "greeting": "ciao", "published": 1}:
            time.sleep(0.1)
            if status_file.exists():
                plugin = json.loads(status_file.read_text()).get("plugins", {}).get(
                    "greeter", {})
        assert plugin.get("state") == "running", plugin
        assert plugin.get("plugin") == {"greeting": "ciao", "published": 1}, plugin
        shown = subprocess.run([sys.executable, "-m", "meterkit", "gateway", "status",
                                "--config", str(path)], env=env, capture_output=True,
                               text=True, timeout=60)
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert "greeting=ciao" in shown.stdout and "published=1" in shown.stdout
        assert "% of 2048 MiB used" in shown.stdout    # storage.max_db_mb default
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    output = (tmp_path / "gateway.log").read_text()
    assert "plugin entry point ignored: the name belongs to a built-in" in output
    conn = sqlite3.connect(config.gateway.db_path)
    try:
        rows = conn.execute("SELECT plugin, name, payload FROM plugin_results").fetchall()
    finally:
        conn.close()
    assert rows == [("greeter", "greeting", '{"text": "ciao"}')]
