"""Fixtures for the uplink suite: local brokers without queue limits.

Not deploy/mosquitto/mosquitto.conf (passwords, ACL, TLS, system paths): tests.support.mosquitto
starts mosquitto with the settings the tests depend on — persistence in the test directory and
``max_queued_messages 0`` like the deploy config, anonymous access, a 1 s autosave. The deploy
config itself is started in test_deploy_broker.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mosquitto import Mosquitto

# (tests.support.mosquitto adds `user root` when the suite runs as root, so persistence works)
# Save after every change (not every second): a SIGKILLed broker then keeps what it had
# acknowledged but not yet delivered — except messages acknowledged after its last save
# (mosquitto sends PUBACK before it saves; see helpers.last_save). Costs a full save per
# change: used where the broker is killed (deploy/mosquitto/README.md: the trade-off).
DURABLE = "autosave_on_changes true\n"


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "broker") as broker:
        yield broker


@pytest.fixture
def durable_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "broker", extra_config=DURABLE) as broker:
        yield broker
