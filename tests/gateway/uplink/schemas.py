"""Load the published JSON Schemas (docs/schemas) and validate payloads against them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"


@cache
def validator(name: str) -> jsonschema.protocols.Validator:
    doc = json.loads((SCHEMAS / f"{name}.v1.json").read_text())
    cls = jsonschema.validators.validator_for(doc)
    cls.check_schema(doc)
    return cls(doc, format_checker=cls.FORMAT_CHECKER)


def validate(payload: dict[str, Any]) -> None:
    """Validate by the payload's own ``schema`` field (``meterkit/<name>/1``)."""
    name = payload["schema"].split("/")[1]
    validator(name).validate(payload)
