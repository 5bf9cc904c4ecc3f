"""Which firmware files go onto a board, and the firmware version they carry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from provisioning.errors import ProvisioningError

__all__ = ["FirmwareImage", "load_image"]

REPO = Path(__file__).resolve().parents[1]
_VERSION = re.compile(r"^FW_VERSION\s*=\s*\((\d+),\s*(\d+),\s*(\d+)\)", re.M)
# The unix port needs the simulated HAL and its entry point; a real board does not.
_SIM_ONLY = ("hal_sim.py", "main_sim.py")


@dataclass(frozen=True, slots=True)
class FirmwareImage:
    """Files keyed by their path on the board (e.g. "firmware/app.py") and the version."""

    files: dict[str, bytes]
    version: tuple[int, int, int]

    @property
    def version_text(self) -> str:
        return ".".join(str(v) for v in self.version)

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.files.values())


def load_image(source: Path | None = None, *, target: str = "esp32") -> FirmwareImage:
    """Read `source` (default: this repo's firmware/) for `target` "esp32" or "unix"."""
    src = Path(source or REPO / "firmware")
    app = src / "app.py"
    if not app.is_file():
        raise ProvisioningError("no firmware found", where=str(src),
                                todo="pass --firmware DIR pointing at the firmware/ folder")
    match = _VERSION.search(app.read_text())
    if match is None:
        raise ProvisioningError("firmware/app.py has no FW_VERSION", where=str(app),
                                todo="use a released firmware folder")
    files = {}
    for path in sorted(src.glob("*.py")):
        if target != "unix" and path.name in _SIM_ONLY:
            continue
        files[f"firmware/{path.name}"] = path.read_bytes()
    version = (int(match[1]), int(match[2]), int(match[3]))
    return FirmwareImage(files, version)
