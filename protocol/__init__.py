"""meterkit wire protocol v1: frames, AES-CCM, payload codec; runs on CPython and MicroPython.

Nothing is imported here, so a board compiles only the submodules it imports
(`from protocol import frame`, `import protocol.readings`). On CPython the names in `__all__`
also resolve lazily from the package (`protocol.encode`, `protocol.Deframer`, ...).
"""

__version__ = "1.0.0"

import sys

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

# Lazy re-exports are a CPython convenience. On MicroPython this package stays empty: a board
# imports submodules directly (`from protocol import frame`), and a module __getattr__ there
# would both cost heap and intercept those submodule imports.
if sys.implementation.name != "micropython":
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

    def __getattr__(name):
        mod = _LAZY.get(name)
        if mod is None:
            raise AttributeError("module 'protocol' has no attribute %r" % name)
        value = getattr(__import__("protocol." + mod, None, None, [name]), name)
        globals()[name] = value
        return value
