"""A pip-installed meterkit carries the board firmware: built as a wheel, installed elsewhere.

The wheel is built with pip from a copy of the source (build dependencies from the configured
index; offline here: the local wheel index) and installed with `--target` into a directory
that is first on PYTHONPATH, so the installed `provisioning` — not this checkout — runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from simulator.virtual_board import VirtualBoard
from tests.provisioning.conftest import Gateway, last_json
from tests.support.micropython import REPO

_SOURCES = ("pyproject.toml", "README.md", "meterkit", "protocol", "gateway", "simulator",
            "provisioning", "firmware")


def _pip(*args: str, cwd: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args, "--no-deps", "--quiet"],
                          cwd=cwd, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the wheel, the directory it was installed into)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in _SOURCES:
        item = REPO / name
        if item.is_dir():
            shutil.copytree(item, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, src / name)
    _pip("wheel", "-w", str(work / "dist"), str(src), cwd=work)
    wheel = next((work / "dist").glob("meterkit-*.whl"))
    _pip("install", "--target", str(work / "site"), str(wheel), cwd=work)
    return wheel, work / "site"


def _env(site: Path) -> dict[str, str]:
    # Run with `python -S`: the dependencies come from this environment's site-packages, but
    # its .pth files are not processed, so the editable install of this checkout (a .pth
    # import hook that maps `firmware`, `provisioning`... to the repository) cannot stand in
    # for what the wheel installed or left out.
    purelib = sysconfig.get_paths()["purelib"]
    return dict(os.environ, PYTHONPATH=os.pathsep.join((str(site), purelib)),
                METERKIT_LANG="en")


PYTHON = [sys.executable, "-S"]


def test_wheel_holds_every_firmware_and_protocol_source(installed: tuple[Path, Path]) -> None:
    wheel, _site = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    # Every board source in the checkout, the manifests that list them and the entry points.
    for folder in ("firmware", "protocol"):
        for path in (REPO / folder).glob("*.py"):
            assert f"{folder}/{path.name}" in names, path
    for must in ("firmware/manifest.py", "firmware/main.py", "firmware/main_sim.py",
                 "protocol/manifest.py"):
        assert must in names


def test_installed_tool_finds_the_installed_firmware(installed: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    _wheel, site = installed
    probe = (
        "import json, provisioning.firmware_files as f\n"
        "out = {'module': f.__file__}\n"
        "for t in ('esp32', 'unix'):\n"
        "    img = f.load_image(target=t)\n"
        "    out[t] = {p: __import__('hashlib').sha256(b).hexdigest()"
        " for p, b in img.files.items()}\n"
        "print(json.dumps(out))\n")
    done = subprocess.run([*PYTHON, "-c", probe], cwd=tmp_path, env=_env(site),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["module"].startswith(str(site))            # the installed copy ran
    # Byte-identical to the checkout's sources; a real board gets main.py at its root.
    esp32 = out["esp32"]
    assert esp32["main.py"] == hashlib.sha256((REPO / "firmware/main.py").read_bytes()).hexdigest()
    for path in ("firmware/app.py", "firmware/config.py", "protocol/frame.py"):
        assert esp32[path] == hashlib.sha256((REPO / path).read_bytes()).hexdigest()
    assert "firmware/main_sim.py" in out["unix"] and "main.py" not in out["unix"]


def test_installed_tool_provisions_a_board_without_firmware_option(
        installed: tuple[Path, Path], tmp_path: Path, gateway: Gateway) -> None:
    _wheel, site = installed
    with VirtualBoard(tmp_path / "board") as vb:
        done = subprocess.run(
            [*PYTHON, "-m", "meterkit", "provision", "device", "--port", vb.port,
             "--target", "unix", "--gateway-config", str(gateway.config), "--gateway-host",
             "127.0.0.1", "--gateway-port", str(gateway.port), "--site", "lodi",
             "--channel", "1:gas:10", "--no-reboot", "--json"],
            cwd=tmp_path, env=_env(site), capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        result = last_json(done.stdout)
        app = (REPO / "firmware" / "app.py").read_bytes()
        assert (vb.root / "firmware" / "app.py").read_bytes() == app
        assert result["files"]["firmware/app.py"] == hashlib.sha256(app).hexdigest()


def test_check_runs_when_the_tool_has_no_firmware_files(
        installed: tuple[Path, Path], tmp_path: Path) -> None:
    _wheel, site = installed
    bare = tmp_path / "site"
    shutil.copytree(site, bare, ignore=shutil.ignore_patterns("firmware"))
    with VirtualBoard(tmp_path / "board", run_app=False) as vb:
        done = subprocess.run(
            [*PYTHON, "-m", "meterkit", "provision", "check", "--port", vb.port,
             "--no-reboot", "--json"],
            cwd=tmp_path, env=_env(bare), capture_output=True, text=True, timeout=240)
    report = last_json(done.stdout)
    # An empty board: no config to check, but an answer instead of "no firmware found".
    assert report["checks"]["modules"][0] == "n/a", report
    assert report["checks"]["config"][0] == "fail"
    assert "Traceback" not in done.stderr
