"""Freeze the board firmware and the wire protocol into a MicroPython build.

    make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/meterkit/firmware/manifest.py

Simulation-only modules (hal_sim, simfeed, blockdev, main_sim) are left out.
"""

# ruff: noqa: F821  (metadata, include, package: provided by the manifest runner)
metadata(description="meterkit clamp-meter and gas-pulse board firmware", version="1.1.0")

include("$(PORT_DIR)/boards/manifest.py")  # the port's own modules, asyncio included

# The protocol manifest lists its board modules; package("protocol") without files would walk
# the folder and freeze the CPython tools and protocol/vectors/generate.py too. An included
# manifest shares this one's metadata, which may be set once: it skips its own.
include("../protocol/manifest.py", own_metadata=False)
package(
    "firmware",
    files=(
        "__init__.py",
        "app.py",
        "at_modem.py",
        "at_table.py",
        "atomic.py",
        "clock.py",
        "commands.py",
        "config.py",
        "counter.py",
        "ct.py",
        "fqueue.py",
        "frames.py",
        "hal_board.py",
        "link_modem.py",
        "link_socket.py",
        "meter.py",
        "pulses.py",
        "selftest.py",  # the installer's self-test (provisioning), not imported by the app
        "session.py",
        "state.py",
    ),
    base_path="..",
    opt=3,
)
