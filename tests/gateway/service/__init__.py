"""Tests of the gateway service half: config, plugin host, normaliser, service, CLI."""
