"""Input checks shared by the analysis functions: lengths, signs, finiteness, units."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gateway.analysis.errors import (
    AnalysisError,
    InsufficientDataError,
    NegativeValueError,
    UnitMismatchError,
)

__all__ = ["as_values", "require_count", "require_unit", "same_length"]

# Units the analysis accepts for consumption; gas volumes are never silently turned into kWh.
CONSUMPTION_UNITS = ("kWh", "Smc", "m3")


def as_values(
    values: Sequence[float] | np.ndarray,
    *,
    input: str,
    field: str = "value",
    allow_negative: bool = False,
) -> np.ndarray:
    """Values as a float array; NaN, infinity or (unless allowed) negatives are errors."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise AnalysisError("expected a flat list of numbers", input=input, field=field,
                            value=f"shape {arr.shape}", expected="one value per period")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise AnalysisError("missing or non-numeric value", input=input, row=int(bad[0]) + 1,
                            field=field, value=str(arr[bad[0]]), expected="a finite number",
                            hint="fill the gap or remove the period from the analysis")
    if not allow_negative:
        neg = np.flatnonzero(arr < 0)
        if neg.size:
            raise NegativeValueError("negative value", input=input, row=int(neg[0]) + 1,
                                     field=field, value=float(arr[neg[0]]), expected=">= 0",
                                     hint="a register reset or export? correct the reading")
    return arr


def same_length(a: np.ndarray, b: np.ndarray, *, input: str, what: str) -> None:
    """Raise unless the two arrays pair up one to one."""
    if len(a) != len(b):
        raise AnalysisError(f"{what} differ in length", input=input, value=(len(a), len(b)),
                            expected="one value of each per period")


def require_count(n: int, required: int, *, input: str, unit: str, hint: str = "") -> None:
    """Raise InsufficientDataError when fewer than `required` items are available."""
    if n < required:
        raise InsufficientDataError("not enough data", input=input, available=n,
                                    required=required, unit=unit, hint=hint)


def require_unit(unit: str, *, input: str, expected: str | Sequence[str] = CONSUMPTION_UNITS,
                 field: str = "unit") -> str:
    """The unit if it is one of `expected`; the error names what would have matched."""
    allowed = (expected,) if isinstance(expected, str) else tuple(expected)
    if unit not in allowed:
        raise UnitMismatchError("unit not accepted here", input=input, field=field, value=unit,
                                expected=" or ".join(allowed),
                                hint="convert first (e.g. Smc -> kWh with the site's PCI)")
    return unit
