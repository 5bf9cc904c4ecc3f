"""Board entry point: copy to the board as /main.py (see docs/FIRMWARE.md)."""

import time

from firmware import app
from firmware.hal_board import BoardHal

a = app.run(BoardHal(), "/config.json")
# Only reached when the config cannot work: no reboot loop, repeat the reason for the installer.
while True:
    for _, msg in a.config_errors:
        print("CONFIG ERROR:", msg)
    time.sleep(60)
