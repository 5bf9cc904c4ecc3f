"""MicroPython manifest: freeze the board-side protocol modules (not the CPython tools)."""

# Used by the firmware build (`FROZEN_MANIFEST` / `include(...)`): frozen modules keep their
# bytecode in flash, which a board needs, since the whole package loaded as source or .mpy
# takes ~40 KB of heap on the 64-bit unix port (about half that on an ESP32).
# ruff: noqa: F821  (options, metadata, package: provided by the manifest runner)
options.defaults(own_metadata=True)
if options.own_metadata:  # False under firmware/manifest.py: one metadata() per manifest level
    metadata(description="meterkit wire protocol v1", version="1.0.0")

package(
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
    opt=3,
)
