"""Helpers shared by the test suites: real brokers, the MicroPython binary, free ports."""
