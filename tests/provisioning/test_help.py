"""Every `meterkit provision` action's --help shows examples (README: "every subcommand")."""

from __future__ import annotations

import argparse

from meterkit.cli import build_parser


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_provision_action_has_examples() -> None:
    provision = _actions(build_parser())["provision"]
    actions = _actions(provision)
    assert {"device", "bulk", "check", "rotate", "decommission", "label", "ct-models", "keys",
            "ports"} <= set(actions)
    for name, parser in actions.items():
        text = parser.format_help()
        assert "examples" in text, name
        assert f"meterkit provision {name}" in text, name   # an example of this very action
