"""Protocol errors: one small hierarchy, each with a short `reason` code and a human `detail`."""


class ProtocolError(Exception):
    """Bytes that are not a valid v1 frame or payload.

    `reason` is a stable short code (logs, metrics, CLI output); `detail` says what was wrong,
    in which field, with which value and what was expected.
    """

    reason = "protocol_error"

    def __init__(self, detail=""):
        super().__init__(detail)
        self.detail = detail

    def __str__(self):
        return self.reason + ": " + self.detail


class BadMagic(ProtocolError):
    reason = "bad_magic"


class BadVersion(ProtocolError):
    reason = "bad_version"


class BadType(ProtocolError):
    reason = "bad_type"


class Truncated(ProtocolError):
    reason = "truncated"


class TooLong(ProtocolError):
    reason = "too_long"


class BadHeaderCheck(ProtocolError):
    reason = "bad_header_check"


class BadTag(ProtocolError):
    reason = "bad_tag"


class Malformed(ProtocolError):
    reason = "malformed_payload"


class Replay(ProtocolError):
    """Raised by the gateway (which knows the stored counters), never by the decoder."""

    reason = "replay"


__all__ = [
    "BadHeaderCheck",
    "BadMagic",
    "BadTag",
    "BadType",
    "Malformed",
    "ProtocolError",
    "Replay",
    "TooLong",
    "Truncated",
]
