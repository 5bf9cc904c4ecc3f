"""Tests for the MQTT uplink: outbox, publisher, messages, commands, against a real mosquitto."""
