"""House rules that are cheap to check: only the board HAL imports `machine`; every firmware
module compiles for the board with mpy-cross-free MicroPython (compile under the real binary)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.micropython import REPO, run_micropython

FIRMWARE = REPO / "firmware"


def test_only_the_board_hal_touches_machine() -> None:
    users = sorted(
        p.name for p in FIRMWARE.glob("*.py")
        if re.search(r"^\s*(import machine|from machine )", p.read_text(), re.M)
    )
    assert users == ["hal_board.py"]


def test_every_firmware_module_compiles_under_micropython(tmp_path: Path) -> None:
    script = tmp_path / "compile_all.py"
    names = sorted(p.name for p in FIRMWARE.glob("*.py"))
    script.write_text(
        "import sys\n"
        f"names = {names!r}\n"
        "bad = []\n"
        "for n in names:\n"
        "    with open(%r + '/' + n) as f:\n"
        "        src = f.read()\n"
        "    try:\n"
        "        compile(src, n, 'exec')\n"
        "    except SyntaxError as e:\n"
        "        bad.append((n, str(e)))\n"
        "print('BAD', bad)\n" % str(FIRMWARE)
    )
    proc = run_micropython(script)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "BAD []"
