"""The alerts package's exceptions: what went wrong, where (key path or recipient), what to do."""

from __future__ import annotations

__all__ = ["AlertsError", "MailError", "RuleError"]


class AlertsError(Exception):
    """Base of the alerts plugin's errors; `where` names the key path or object concerned."""

    def __init__(self, message: str, *, where: str = "", hint: str = "") -> None:
        text = f"{where}: {message}" if where else message
        super().__init__(text + (f" ({hint})" if hint else ""))
        self.where = where
        self.hint = hint


class RuleError(AlertsError):
    """A rule cannot run with the facts known at start (e.g. no climate zone for its site)."""


class MailError(AlertsError):
    """An e-mail could not be delivered; `transient` says whether a retry may succeed."""

    def __init__(self, message: str, *, where: str = "", hint: str = "",
                 transient: bool = True) -> None:
        super().__init__(message, where=where, hint=hint)
        self.transient = transient
