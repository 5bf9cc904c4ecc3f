"""Handlers of `meterkit gateway run | check-config | status`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # the config machinery is imported by the handlers: `--help` stays fast
    from gateway.config import Config

__all__ = ["cmd_check_config", "cmd_run", "cmd_status", "load_or_report"]


def load_or_report(path: str) -> Config | None:
    """The config, or None after printing every problem to stderr (never a traceback)."""
    from gateway.config import ConfigError, load_config

    try:
        return load_config(Path(path))
    except ConfigError as exc:
        print(f"{path}: {len(exc.problems)} problem(s); run `meterkit gateway check-config "
              f"--config {path}`", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return None


def cmd_check_config(args: argparse.Namespace) -> int:
    from gateway.config import check_config

    problems = check_config(Path(args.config))
    if args.json:
        print(json.dumps({"config": args.config, "ok": not problems,
                          "problems": [p.as_dict() for p in problems]}, indent=2))
    elif problems:
        print(f"{args.config}: {len(problems)} problem(s)")
        for p in problems:
            print(f"  {p}")
    else:
        print(f"{args.config}: OK")
    return 1 if problems else 0


def cmd_run(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 2     # like a start-up failure: an operator must act, a restart cannot help
    from gateway.logs import setup_logging
    from gateway.service import StartupError, run_gateway

    setup_logging(config.gateway.log_level, config.gateway.log_format)
    try:
        return asyncio.run(run_gateway(config))
    except StartupError as exc:
        # An operator can fix it (exit 2: environment/config); a traceback would only hide it.
        print(f"meterkit gateway run: cannot start: {exc}", file=sys.stderr)
        return 2


def cmd_status(args: argparse.Namespace) -> int:
    config = load_or_report(args.config)
    if config is None:
        return 1
    from gateway.health import read_status

    report = read_status(config.gateway.state_dir)
    if args.json:
        print(json.dumps({"running": report.running, "problem": report.problem,
                          "path": str(report.path), "status": report.snap}, indent=2))
    else:
        _print_status(report.snap, report.problem)
    return 0 if report.running else 3


def _print_status(snap: dict[str, Any] | None, problem: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if problem:
        console.print(f"[bold red]{problem}[/]")
    if snap is None:
        return
    when = datetime.fromtimestamp(float(snap.get("time", 0)), UTC).isoformat(timespec="seconds")
    table = Table(title=f"gateway status (pid {snap.get('pid')}, {snap.get('state')}, {when})")
    table.add_column("what")
    table.add_column("value", overflow="fold")
    ingest, db = snap.get("ingest", {}), snap.get("db", {})
    rows = [
        ("uptime", f"{snap.get('uptime_s')} s"),
        ("connections open", ingest.get("connections_open")),
        ("frames/s", snap.get("frames_per_s")),
        ("frames committed", ingest.get("frames_committed")),
        ("frames dropped", _kv(ingest.get("dropped", {}))),
        ("writer queue", snap.get("writer", {}).get("queue")),
        ("db size", f"{db.get('size_bytes', 0) / 2**20:.1f} MiB"),
        ("db size cap", _cap(db)),
        ("readings kept (skipped)", _kv({"held": snap.get("retention", {}).get(
            "readings_held"), **snap.get("retention", {}).get("readings_skipped", {})})),
        ("last commit", f"{db.get('last_commit_age_s')} s ago"),
        ("outbox backlog", db.get("outbox_backlog")),
        ("uplink", _kv(snap.get("uplink", {"state": "disabled"}))),
    ]
    for name, plugin in snap.get("plugins", {}).items():
        rows.append((f"plugin {name}", _kv({k: plugin.get(k) for k in (
            "state", "queue", "errors", "timeouts", "dropped", "restarts")})))
        if plugin.get("plugin"):    # the plugin's own snapshot() (hookspecs.PluginSpec)
            rows.append((f"plugin {name} (own)", _kv(plugin["plugin"])))
    for what, value in rows:
        table.add_row(what, "-" if value in (None, "") else str(value))
    console.print(table)


def _cap(db: dict[str, Any]) -> str | None:
    if db.get("cap_bytes") is None or db.get("used_bytes") is None:
        return None
    text = f"{db['used_pct']} % of {db['cap_bytes'] / 2**20:.0f} MiB used"
    return text + (" - WARNING: at the cap new frames are refused" if db.get("size_warning")
                   else "")


def _kv(d: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in d.items()) or "none"
