"""The normalisation package's exceptions: what field, what value, what was expected."""

from __future__ import annotations

from typing import Any

__all__ = ["AmbiguousMunicipalityError", "NormaliseError", "UnknownMunicipalityError"]


class NormaliseError(ValueError):
    """An input the normalisation functions cannot accept.

    `field` names the offending argument or config key path, `value` is what was given and
    `expected` says what would have been accepted.
    """

    def __init__(self, message: str, *, field: str, value: Any, expected: str) -> None:
        super().__init__(f"{field}={value!r}: {message} (expected {expected})")
        self.field = field
        self.value = value
        self.expected = expected


class UnknownMunicipalityError(NormaliseError):
    """No municipality of the DPR 412/93 table matches; `suggestions` lists close names."""

    def __init__(self, name: str, suggestions: tuple[str, ...]) -> None:
        hint = ", ".join(suggestions) if suggestions else "no close match"
        super().__init__(
            f"municipality not in the DPR 412/93 table; close matches: {hint}",
            field="municipality",
            value=name,
            expected="a municipality name as in Annex A of DPR 412/93 (case and accents ignored)",
        )
        self.name = name
        self.suggestions = suggestions


class AmbiguousMunicipalityError(NormaliseError):
    """Several municipalities share the name; `provinces` lists the ones to choose from."""

    def __init__(self, name: str, provinces: tuple[str, ...]) -> None:
        super().__init__(
            "several municipalities have this name; pass province=",
            field="municipality",
            value=name,
            expected=f"one of the provinces {', '.join(provinces)}",
        )
        self.name = name
        self.provinces = provinces
