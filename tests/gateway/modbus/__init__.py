"""Tests of the Modbus input plugin (gateway/modbus)."""
