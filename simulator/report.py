"""Render a run's result for people (rich tables, Italian or English) or machines (one JSON)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulator.errors import ScenarioError, SimulatorError
from simulator.i18n import label
from simulator.results import RunResult

__all__ = ["EXIT_BAD_INPUT", "EXIT_COMPONENT", "EXIT_LOST", "EXIT_OK", "error_exit_code",
           "print_json", "print_report", "show_and_exit_code"]

# The documented exit codes of `meterkit demo` and `meterkit sim run|check` (docs/SIMULATOR.md)
EXIT_OK = 0          # nothing lost, invented or altered
EXIT_LOST = 1        # a reading lost, invented or altered upstream
EXIT_BAD_INPUT = 2   # bad options or a bad scenario file
EXIT_COMPONENT = 3   # a component (mosquitto, MicroPython, the gateway) missing or failing


def print_json(result: RunResult, extra: dict[str, Any] | None = None) -> None:
    doc = result.as_dict()
    if extra:
        doc.update(extra)
    print(json.dumps(doc, ensure_ascii=False, default=str))


def show_and_exit_code(result: RunResult, *, as_json: bool, lang: str) -> int:
    """Print the run (JSON or report); the exit code: 0 ok, 1 a reading lost, invented or
    altered, 3 the run degraded (a component missing or failing)."""
    if as_json:
        print_json(result)
    else:
        print_report(result, Console(), lang)
    if result.degraded:
        return EXIT_COMPONENT
    return EXIT_OK if result.comparison and result.comparison.ok else EXIT_LOST


def error_exit_code(exc: SimulatorError) -> int:
    """A scenario the user wrote wrong is bad input (2); anything else that stopped the run
    is a component missing or failing (3): the message names it and says what to do."""
    return EXIT_BAD_INPUT if isinstance(exc, ScenarioError) else EXIT_COMPONENT


def _num(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.1f}"
    return f"{x:,}"


def print_report(result: RunResult, console: Console, lang: str = "en") -> None:
    L = lambda k: label(k, lang)  # noqa: E731
    d = result.as_dict()
    console.rule(f"[bold]{L('title')}[/] — {result.scenario}")
    console.print(f"{L('devices')}: {result.devices}   {L('days')}: {result.days:g}   "
                  f"{L('wall')}: {result.wall_s:.1f} s   broker: {result.broker}")
    t = Table(title=L("readings"), show_header=False)
    t.add_column(justify="left")
    t.add_column(justify="right")
    for key in ("readings_produced", "readings_stored", "readings_normalised",
                "readings_delivered", "readings_lost", "readings_invented", "registers_altered",
                "duplicates_delivered", "estimated_delivered"):
        if key in d:
            t.add_row(L(key), _num(d[key]))
    console.print(t)
    bands = Table(title=L("energy_by_band"))
    bands.add_column(L("band"))
    bands.add_column(L("kwh"), justify="right")
    for band, kwh in (d.get("energy_by_band") or {}).items():
        bands.add_row(band, _num(float(kwh)))
    if d.get("pv_kwh"):
        bands.add_row(L("pv"), _num(float(d["pv_kwh"])))
    for unit, v in (d.get("gas") or {}).items():
        bands.add_row(escape(f"{L('gas')} [{unit}]"), _num(float(v)))
    console.print(bands)
    faults = Table(title=L("faults"), show_header=False)
    faults.add_column()
    faults.add_column(justify="right")
    for key, n in result.faults.items():
        faults.add_row(L(key), _num(n))
    console.print(faults)
    if result.alerts is None:
        console.print(f"{L('alerts')}: {L('alerts_unavailable')}")
    elif result.alerts:
        at = Table(title=L("alerts"))
        for col in ("time", "device", "rule", "state", "message"):
            at.add_column(L(col))
        for a in result.alerts[:20]:
            at.add_row(str(a.get("time") or "")[:16], str(a.get("device") or a.get("site")),
                       str(a.get("rule") or a.get("kind")), str(a.get("state") or ""),
                       escape(str(a.get("message") or "")[:70]))
        console.print(at)
    else:
        console.print(f"{L('alerts')}: {L('no_alerts')}")
    if result.savings:
        st = Table(title=L("savings"), show_header=False)
        st.add_column()
        st.add_column(justify="right")
        for k, v in result.savings.items():
            if not isinstance(v, dict | list):
                st.add_row(escape(L(k)), _num(v) if isinstance(v, int | float) else str(v))
        console.print(st)
    if result.degraded:
        console.print(f"[bold yellow]{L('degraded')}:[/]")
        for item in result.degraded:
            console.print(f"  - {item}")
    for note in result.notes:
        console.print(f"[dim]{note}[/]")
    if result.comparison is not None:
        ok = result.comparison.ok
        console.print(f"[bold {'green' if ok else 'red'}]"
                      f"{L('verdict_ok' if ok else 'verdict_bad')}[/]")
