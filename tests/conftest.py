"""Fixtures shared by every suite: a real mosquitto broker and the MicroPython binary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.micropython import micropython_binary
from tests.support.mosquitto import Mosquitto


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "broker") as broker:
        yield broker


@pytest.fixture(scope="session")
def micropython() -> str:
    return micropython_binary()
