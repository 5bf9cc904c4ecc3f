"""meterkit board firmware (MicroPython). Modules are imported on first use; see app.py."""
