"""A real gateway for a run: its config, its registry (keys, channels) and its process.

The gateway runs as `python -m meterkit gateway run --config <workdir>/gateway.toml` in its own
process with its SQLite database in the work directory. Devices are registered beforehand with
the gateway's own registry functions (`gateway.registry.add_device`, keys sealed by its KeyBox),
exactly as `meterkit gateway devices add` does.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.broker import free_port, wait_port
from simulator.errors import DependencyMissing, SimulatorError

__all__ = ["BoardRecord", "GatewayProcess"]

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BoardRecord:
    """What the gateway must know about a board: id, key, site and channel map."""

    device_id: str
    key: bytes
    site: str
    channels: dict[str, dict[str, Any]]   # index as text -> {"name", "kind", "unit", ...}


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):  # inline table
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}"
                                for k, x in v.items()) + " }"
    return json.dumps(str(v))


def toml_table(name: str, values: dict[str, Any]) -> str:
    lines = [f"[{name}]"] + [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


@dataclass
class GatewayProcess:
    """`meterkit gateway run` as a child process, configured for one simulation run."""

    workdir: Path
    site: str
    sites: dict[str, dict[str, Any]]       # [sites.<name>] tables
    mqtt: dict[str, Any]                    # [mqtt] table
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    ingest_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.workdir / "gateway.toml"

    @property
    def db_path(self) -> Path:
        return self.workdir / "state" / "gateway.db"

    def write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        parts = [
            "# Written by the meterkit simulator for one run.\n",
            toml_table("gateway", {
                "site": self.site, "state_dir": str(self.workdir / "state"),
                "db_path": str(self.db_path),
                "secret_file": str(self.workdir / "gateway.secret"), "log_level": "INFO"}),
            toml_table("ingest", {"host": "127.0.0.1", "port": self.ingest_port}),
        ]
        parts += [toml_table(f"sites.{json.dumps(n)}", t) for n, t in self.sites.items()]
        parts.append(toml_table("mqtt", self.mqtt))
        parts += [toml_table(f"plugins.{n}", t) for n, t in self.plugins.items()]
        self.config_path.write_text("\n".join(parts), encoding="utf-8")
        return self.config_path

    async def provision(self, boards: Iterable[BoardRecord]) -> int:
        """Register every board in the gateway's database (keys sealed at rest)."""
        try:
            from gateway.registry import add_device
            from gateway.store.db import Database
            from gateway.store.keybox import KeyBox
        except ImportError as exc:
            raise DependencyMissing("gateway registry", str(exc)) from None
        quiet = logging.getLogger("gateway.store.keybox")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # "created a new gateway secret" is expected here
        try:
            box = KeyBox.load_or_create(self.workdir / "gateway.secret")
        finally:
            quiet.setLevel(level)
        boards = list(boards)

        def add_all(conn: sqlite3.Connection) -> None:
            for b in boards:
                add_device(conn, box, b.device_id, b.key, site=b.site, channels=b.channels,
                           replace=True)

        db = await Database.open(self.db_path)
        try:
            await db.write(add_all)
        finally:
            await db.close()
        return len(boards)

    def start(self, timeout: float = 30.0) -> None:
        if importlib.util.find_spec("gateway.cli") is None:
            raise DependencyMissing("gateway service", "the gateway.cli module does not exist",
                                    hint="the `meterkit gateway run` command is not available")
        env = dict(os.environ, **self.env)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        log = (self.workdir / "gateway.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "meterkit", "gateway", "run", "--config",
             str(self.config_path)], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        if not wait_port(self.ingest_port, timeout, self.proc):
            code = self.proc.poll()
            self.stop()
            raise SimulatorError(f"gateway did not listen on port {self.ingest_port} "
                                 f"(exit code {code})", hint=f"see {self.workdir}/gateway.log")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM: the gateway drains (ACKs, commits, PUBACKs) and exits."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read-only query on the gateway database (WAL allows it while the gateway runs)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def plugin_failures(self) -> list[str]:
        """Plugin errors the gateway logged (a plugin that failed gets no data)."""
        log = self.workdir / "gateway.log"
        if not log.exists():
            return []
        out = []
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if "level=error" in line and "logger=gateway.plugins" in line:
                out.append("gateway: " + line.split("msg=", 1)[-1][:300])
        return out

    def table_exists(self, name: str) -> bool:
        rows = self.query("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,))
        return bool(rows)
