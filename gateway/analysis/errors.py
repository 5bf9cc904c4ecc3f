"""The analysis package's exceptions: which input, row and field, what value, what to do."""

from __future__ import annotations

from typing import Any

__all__ = [
    "AnalysisError",
    "InsufficientDataError",
    "NegativeValueError",
    "PeriodError",
    "UnitMismatchError",
]


class AnalysisError(ValueError):
    """An input the analysis functions cannot turn into a trustworthy number.

    `input` names the data set or argument ("baseline", "reporting", "gg_std"), `row` the
    1-based data row when it applies, `field` the column or attribute, `value` what was given,
    `expected` what would have been accepted and `hint` what the user can do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        input: str,
        field: str | None = None,
        row: int | None = None,
        value: Any = None,
        expected: str = "",
        hint: str = "",
    ) -> None:
        where = input + (f" row {row}" if row is not None else "") + (
            f" field {field}" if field else ""
        )
        text = f"{where}: {message}"
        if value is not None:
            text += f" (got {value!r}"
            text += f", expected {expected})" if expected else ")"
        elif expected:
            text += f" (expected {expected})"
        if hint:
            text += f"; {hint}"
        super().__init__(text)
        self.message = message
        self.input = input
        self.field = field
        self.row = row
        self.value = value
        self.expected = expected
        self.hint = hint

    def as_dict(self) -> dict[str, Any]:
        """The structured fields, for `--json` error output and plugin results."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "input": self.input,
            "field": self.field,
            "row": self.row,
            "value": self.value if _jsonable(self.value) else repr(self.value),
            "expected": self.expected,
            "hint": self.hint,
        }


class InsufficientDataError(AnalysisError):
    """Too little data for the method; `available` and `required` say how much of what."""

    def __init__(self, message: str, *, input: str, available: float, required: float,
                 unit: str, hint: str = "") -> None:
        super().__init__(
            f"{message}: {available:g} {unit} available, the method needs {required:g}",
            input=input, value=available, expected=f">= {required:g} {unit}", hint=hint,
        )
        self.available = available
        self.required = required
        self.unit = unit


class PeriodError(AnalysisError):
    """Periods that overlap, run backwards or leave gaps where the method needs none."""


class UnitMismatchError(AnalysisError):
    """Values in a unit the computation cannot combine with the others."""


class NegativeValueError(AnalysisError):
    """A consumption, degree-day or power value below zero."""


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
