"""Fixtures for the uplink suite: a broker configured like deploy/mosquitto (durable)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mosquitto import Mosquitto

# `user root`: when the suite runs as root, mosquitto would otherwise drop to the `mosquitto`
# user, fail to write tmp_path and run *without* persistence (no log, no mosquitto.db).
# `autosave_on_changes` + interval 1: save after every change, as deploy/mosquitto advises for a
# broker that must not lose acknowledged messages on a crash.
DURABLE = "user root\nautosave_on_changes true\n"


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "broker", extra_config=DURABLE)
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()
