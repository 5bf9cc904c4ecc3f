"""Wire enums of protocol v1: the index of a name in its tuple is its byte on the wire.

Append-only within v1 would still break old decoders (they reject unknown values), so any
change here is a protocol version change; PROTOCOL.md lists the same tables.
"""

UNITS = ("Wh", "Wh_export", "L", "pulse")

RESET_CAUSES = ("unknown", "power_on", "watchdog", "soft", "deep_sleep", "brown_out", "hard")

EVENT_CODES = (
    "tamper",
    "power_fail",
    "power_restore",
    "reboot",
    "threshold",
    "queue_overflow",
    "config_error",
    "clock_set",
)

RESULT_STATUSES = ("ok", "unknown_command", "bad_params", "failed", "not_available")

# Command name -> parameter names; the position of a parameter is its bit in the presence byte.
COMMANDS = (
    ("set_interval", ("channel", "sample_s", "upload_s")),
    (
        "set_calibration",
        ("channel", "ct_ratio", "burden_mohm", "voltage_dv", "pf_milli", "pulse_ml"),
    ),
    ("set_threshold", ("channel", "kind", "value")),
    ("set_time", ("time",)),
    ("reboot", ()),
    ("resend", ("from_counter", "to_counter")),
)

# Reading flag bits (per interval).
FLAG_PARTIAL = 0x01
FLAG_CLOCK_UNSYNCED = 0x02
FLAG_POWER_LOSS = 0x04
FLAG_SENSOR_FAULT = 0x08
FLAG_ROLLOVER = 0x10
FLAG_REGISTER_RESET = 0x20
FLAGS_DEFINED = 0x3F
FLAG_NAMES = (
    "partial",
    "clock_unsynced",
    "power_loss",
    "sensor_fault",
    "rollover",
    "register_reset",
)

# Events with no channel carry this byte.
NO_CHANNEL = 0xFF


def index_of(names, name, field):
    """Wire index of `name` in `names`; ValueError naming the field otherwise (encoder side)."""
    for i in range(len(names)):
        if names[i] == name:
            return i
    raise ValueError("%s: %r is not one of %s" % (field, name, ", ".join(names)))
