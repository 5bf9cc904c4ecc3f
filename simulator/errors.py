"""The simulator's exceptions: what failed, where (key path / device), and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DependencyMissing", "ScenarioError", "ScenarioProblem", "SimulatorError"]


class SimulatorError(Exception):
    """Base class: every simulator failure carries a message and a hint for the user."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message + (f"; {hint}" if hint else ""))
        self.message = message
        self.hint = hint


@dataclass(frozen=True, slots=True)
class ScenarioProblem:
    """One mistake in a scenario file: key path, value found, what was expected."""

    key: str
    message: str
    value: Any = None
    expected: str = ""

    def __str__(self) -> str:
        text = f"{self.key or 'file'}: {self.message}"
        if self.value is not None:
            text += f" (got {self.value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


class ScenarioError(SimulatorError):
    """A scenario file is invalid; `problems` lists every mistake found, not only the first."""

    def __init__(self, source: str, problems: list[ScenarioProblem]) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s) in scenario\n{lines}")
        self.source = source
        self.problems = problems


class DependencyMissing(SimulatorError):
    """A component the run needs (firmware sim entry, gateway, broker) is not available."""

    def __init__(self, component: str, detail: str, *, hint: str = "") -> None:
        super().__init__(f"{component} not available: {detail}", hint=hint)
        self.component = component
        self.detail = detail
