"""Board entry point: copy to the board as /main.py (see docs/FIRMWARE.md)."""

import time

# A provisioning window before the watchdog is armed: `meterkit provision` interrupts here,
# so a running board can be re-provisioned without being reset in the middle of a write.
print("meterkit: Ctrl-C within 1 s to provision")
time.sleep_ms(1000)

from firmware import app  # noqa: E402  (after the window: importing takes seconds)
from firmware.hal_board import BoardHal  # noqa: E402

a = app.run(BoardHal(), "/config.json")
# Only reached when the config cannot work: no reboot loop, repeat the reason for the installer.
while True:
    for _, msg in a.config_errors:
        print("CONFIG ERROR:", msg)
    time.sleep(60)
