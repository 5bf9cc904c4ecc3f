"""Shared fixtures for the protocol tests: the vector files, loaded with json (no protocol code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors"


def load_vectors(name: str) -> list[dict]:
    return json.loads((VECTORS / name).read_text())["vectors"]


@pytest.fixture(scope="session")
def frame_vectors() -> list[dict]:
    return load_vectors("frames.json")


@pytest.fixture(scope="session")
def negative_vectors() -> list[dict]:
    return load_vectors("negative.json")


@pytest.fixture(scope="session")
def rfc_vectors() -> list[dict]:
    return load_vectors("rfc3610.json")
