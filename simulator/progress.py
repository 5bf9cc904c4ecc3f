"""A rich progress bar for a run (on stderr, so `--json` output on stdout stays one object)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from simulator.runner import Progress as ProgressFn

__all__ = ["progress_bar"]


@contextmanager
def progress_bar(title: str, *, enabled: bool = True) -> Iterator[ProgressFn | None]:
    if not enabled:
        yield None
        return
    console = Console(stderr=True)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.percentage:>5.1f}%"), TextColumn("{task.fields[phase]}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task(title, total=1000, phase="")

        def update(fraction: float, phase: str) -> None:
            bar.update(task, completed=int(fraction * 1000), phase=phase)

        yield update
