"""MicroPython manifest: freeze the board-side protocol modules (not the CPython tools)."""

# Used by the firmware build (`FROZEN_MANIFEST` / `include(...)`): frozen modules keep their
# bytecode in flash, which a board needs, since the whole package loaded as source or .mpy
# takes ~40 KB of heap on the 64-bit unix port (about half that on an ESP32).
metadata(description="meterkit wire protocol v1", version="1.0.0")  # noqa: F821

package(  # noqa: F821
    "protocol",
    files=(
        "__init__.py",
        "errors.py",
        "wire.py",
        "frame.py",
        "ccm.py",
        "crypto.py",
        "stream.py",
        "codec.py",
        "readings.py",
        "device.py",
        "event.py",
        "command.py",
    ),
    base_path="..",
)
