"""Tests of the wire protocol package (CPython and the real MicroPython binary)."""
