"""meterkit wire protocol v1: frames, AES-CCM, payload codec; runs on CPython and MicroPython.

Submodules load lazily so a board compiles only what it imports:
`from protocol import frame` or `import protocol.readings`. Attributes listed below also
resolve lazily from this package (`protocol.encode`, `protocol.Deframer`, ...).
"""

__version__ = "1.0.0"

_LAZY = {
    "encode": "codec",
    "decode": "codec",
    "seal": "frame",
    "open_frame": "frame",
    "parse_header": "frame",
    "Header": "frame",
    "Deframer": "stream",
    "Cipher": "crypto",
    "ProtocolError": "errors",
}

# MicroPython resolves `from protocol import frame` through __getattr__ before it tries the
# submodule, so submodule names are served here too.
_SUBMODULES = (
    "ccm",
    "cli",
    "codec",
    "command",
    "crypto",
    "device",
    "errors",
    "event",
    "frame",
    "readings",
    "stream",
    "tables",
    "wire",
)

__all__ = [
    "Cipher",
    "Deframer",
    "Header",
    "ProtocolError",
    "decode",
    "encode",
    "open_frame",
    "parse_header",
    "seal",
]


def __getattr__(name):
    if name in _SUBMODULES:
        value = __import__("protocol." + name, None, None, ["_"])
    else:
        mod = _LAZY.get(name)
        if mod is None:
            raise AttributeError(name)
        value = getattr(__import__("protocol." + mod, None, None, [name]), name)
    globals()[name] = value
    return value
