"""Which files go onto a board: read from the firmware's and protocol's MicroPython manifests.

`firmware/manifest.py` and `protocol/manifest.py` list the board modules (`package(name,
files=(...))`); they are parsed, never executed. A real board also gets `firmware/main.py`
as `/main.py`; the unix port (virtual board) gets the simulation modules instead.

The default tree is the one this tool runs from: the source checkout, or site-packages after
`pip install` (the wheel ships `firmware` and `protocol` as packages, see pyproject.toml).
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from provisioning.errors import ProvisioningError

__all__ = ["FirmwareImage", "default_root", "load_image"]

REPO = Path(__file__).resolve().parents[1]
_VERSION = re.compile(r"^FW_VERSION\s*=\s*\((\d+),\s*(\d+),\s*(\d+)\)", re.M)
_SIM_MODULES = ("blockdev.py", "hal_sim.py", "simfeed.py", "main_sim.py")  # unix port only
TARGETS = ("esp32", "unix")


@dataclass(frozen=True, slots=True)
class FirmwareImage:
    """Files keyed by their path on the board (e.g. "firmware/app.py") and the version."""

    files: dict[str, bytes]
    version: tuple[int, int, int]
    target: str

    @property
    def version_text(self) -> str:
        return ".".join(str(v) for v in self.version)

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.files.values())

    @property
    def modules(self) -> list[str]:
        """Firmware module names the self-test imports (entry points excluded: they run)."""
        skip = ["firmware/__init__.py", "firmware/main_sim.py"]
        if self.target == "unix":
            skip.append("firmware/hal_board.py")  # needs the ESP32's machine.ADC, WDT, UART
        return [p[len("firmware/"):-3] for p in self.files
                if p.startswith("firmware/") and p not in skip]


def _manifest_files(manifest: Path, package: str) -> list[str]:
    """The `files=(...)` of `package(<package>, ...)` in a manifest."""
    try:
        tree = ast.parse(manifest.read_text(), filename=str(manifest))
    except (OSError, SyntaxError) as exc:
        raise ProvisioningError("firmware manifest not readable", where=str(manifest),
                                why=str(exc), todo="use a complete firmware folder") from None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "package" and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == package):
            for kw in node.keywords:
                if kw.arg == "files" and isinstance(kw.value, ast.Tuple | ast.List):
                    return [str(ast.literal_eval(e)) for e in kw.value.elts]
    raise ProvisioningError(f"manifest has no package({package!r}, files=...)",
                            where=str(manifest), todo="use a complete firmware folder")


def load_image(root: Path | None = None, *, target: str = "esp32") -> FirmwareImage:
    """The files for `target` ("esp32" or "unix") from a meterkit tree (default: this one)."""
    if target not in TARGETS:
        raise ProvisioningError(f"unknown target {target!r}", where="--target",
                                todo="use esp32 (a real board) or unix (the virtual board)")
    base = Path(root) if root else default_root()
    app = base / "firmware" / "app.py"
    try:
        match = _VERSION.search(app.read_text())
    except OSError:
        raise ProvisioningError(
            "no firmware found", where=str(base / "firmware"),
            todo="pass --firmware DIR: the meterkit folder that holds firmware/ and "
                 "protocol/; or reinstall meterkit (its package ships them)") from None
    if match is None:
        raise ProvisioningError("firmware/app.py has no FW_VERSION", where=str(app),
                                todo="use a released firmware folder")
    names = [f"firmware/{n}" for n in _manifest_files(base / "firmware" / "manifest.py",
                                                      "firmware")]
    names += [f"protocol/{n}" for n in _manifest_files(base / "protocol" / "manifest.py",
                                                       "protocol")]
    files: dict[str, bytes] = {}
    for name in names:
        files[name] = _read(base / name)
    if target == "unix":
        for name in _SIM_MODULES:
            files[f"firmware/{name}"] = _read(base / "firmware" / name)
    else:
        files["main.py"] = _read(base / "firmware" / "main.py")
    return FirmwareImage(files, (int(match[1]), int(match[2]), int(match[3])), target)


def default_root() -> Path:
    """The tree holding `firmware/` and `protocol/`: next to this package (a checkout, or
    site-packages), else wherever the `firmware` package is importable from."""
    if (REPO / "firmware" / "app.py").is_file():
        return REPO
    try:
        spec = importlib.util.find_spec("firmware")  # locates, does not import
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        return Path(spec.origin).resolve().parents[1]
    return REPO


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise ProvisioningError("firmware file missing", where=str(path),
                                todo="use a complete firmware folder (see the manifests)") from None
