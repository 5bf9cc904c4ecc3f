"""Fixtures for provisioning tests: a virtual board on a pty, a real gateway (ingest + SQLite)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulator.virtual_board import VirtualBoard
from tests.support.micropython import REPO
from tests.support.ports import free_port, wait_for_port


@dataclass
class Gateway:
    """A gateway config + database + secret; `start()` runs the real ingest server on it."""

    workdir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.workdir / "gateway.toml"

    @property
    def db(self) -> Path:
        return self.workdir / "gateway.db"

    @property
    def secret(self) -> Path:
        return self.workdir / "gateway.secret"

    def write(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f'[gateway]\nsite = "lodi"\nstate_dir = "{self.workdir}/state"\n'
            f'db_path = "{self.db}"\nsecret_file = "{self.secret}"\n\n'
            f'[ingest]\nhost = "127.0.0.1"\nport = {self.port}\n\n'
            '[sites.lodi]\nmunicipality = "LODI"\n\n[sites.genova]\nmunicipality = "Genova"\n')

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.ingest.standalone", "--db", str(self.db),
             "--secret", str(self.secret), "--port", str(self.port)],
            cwd=REPO, stderr=(self.workdir / "ingest.log").open("wb"))
        wait_for_port(self.port, timeout=20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)

    def query(self, fn: Any) -> Any:
        """Run `fn(conn)` on the gateway database (the registry functions take a connection)."""
        from gateway.store import schema as _schema  # noqa: F401
        from gateway.store.db import Database

        async def go() -> Any:
            db = await Database.open(self.db)
            try:
                return await db.read(fn)
            finally:
                await db.close()

        return asyncio.run(go())

    def box(self) -> Any:
        from gateway.store.keybox import KeyBox

        return KeyBox.load_or_create(self.secret)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    gw = Gateway(tmp_path / "gw", free_port())
    gw.write()
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture
def board(tmp_path: Path) -> Iterator[VirtualBoard]:
    vb = VirtualBoard(tmp_path / "board")
    vb.start()
    try:
        yield vb
    finally:
        vb.stop()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`meterkit …` in this process: (exit code, stdout, stderr)."""
    from meterkit.cli import main

    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(text: str) -> dict[str, Any]:
    start = text.index("{")
    data = json.loads(text[start:])
    assert isinstance(data, dict)
    return data


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    return lambda *argv: run_cli(capsys, *argv)


def device_args(vb: VirtualBoard, gw: Gateway, *extra: str) -> list[str]:
    return ["provision", "device", "--port", vb.port, "--target", "unix",
            "--gateway-config", str(gw.config), "--gateway-host", "127.0.0.1",
            "--gateway-port", str(gw.port), *extra]
