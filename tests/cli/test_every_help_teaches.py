"""The README promises that every subcommand's --help has examples: walk the whole parser."""

from __future__ import annotations

import argparse

from meterkit.cli import build_parser


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
           ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    out = []
    for action in subs:
        for name, child in action.choices.items():
            out += leaves(child, (*path, name))
    return out


def test_every_leaf_command_shows_an_example_of_itself() -> None:
    found = leaves(build_parser())
    assert len(found) > 30          # demo, gateway, sim, provision, analyze, protocol...
    missing = []
    for path, parser in found:
        text = parser.format_help().lower()
        # after the word "example(s)" (or "esempi"), a command line of this very subcommand
        at = max(text.find("example"), text.find("esempi"))
        if at < 0 or f"meterkit {' '.join(path)}" not in text[at:]:
            missing.append(" ".join(path))
    assert missing == []
