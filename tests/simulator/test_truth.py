"""Ground truth vs delivery: lost, invented, altered, duplicated and estimated are told apart."""

from __future__ import annotations

from simulator.truth import GroundTruth, compare


def msg(dev: str, ch: str, start: int, reg: int, *flags: str) -> dict:
    return {"msg_id": f"{dev}:{ch}:{start}", "register": {"value": reg, "unit": "Wh"},
            "flags": list(flags), "length_s": 900}


def test_exact_match() -> None:
    t = GroundTruth()
    for i in range(4):
        t.add("a", "el1", 900 * i, 10 * i)
    c = compare(t, [msg("a", "el1", 900 * i, 10 * i) for i in range(4)])
    assert c.ok and c.produced == c.delivered_unique == 4 and c.duplicates == 0


def test_lost_invented_altered_duplicates_estimated() -> None:
    t = GroundTruth()
    t.add("a", "el1", 0, 5)
    t.add("a", "el1", 900, 7)
    t.add("a", "el1", 1800, 9)
    delivered = [msg("a", "el1", 0, 5), msg("a", "el1", 0, 5),   # duplicate
                 msg("a", "el1", 900, 8),                         # altered register
                 msg("a", "el1", 2700, 9),                        # invented
                 msg("a", "el1", 3600, 9, "estimated", "gap")]    # announced estimate
    c = compare(t, delivered)
    assert c.lost == (("a", "el1", 1800),)
    assert c.invented == (("a", "el1", 2700),)
    assert c.altered == ((("a", "el1", 900), 7, 8),)
    assert c.duplicates == 1 and c.estimated == 1 and not c.ok


def test_produced_interval_respread_by_the_gateway_still_counts_as_delivered() -> None:
    t = GroundTruth()
    t.add("a", "el1", 0, 5)
    c = compare(t, [msg("a", "el1", 0, 5, "estimated", "power_loss")])
    assert c.ok and c.estimated == 0


def test_within_keeps_intervals_ended_by_the_end_and_first_register_wins() -> None:
    t = GroundTruth()
    t.add("a", "gas", 0, 1, 3600)
    t.add("a", "gas", 3600, 2, 3600)
    t.add("a", "gas", 3600, 3, 3600)
    assert t.conflicts == [(("a", "gas", 3600), 2, 3)]
    assert set(t.within(3600).registers) == {("a", "gas", 0)}


def test_every_delivered_copy_is_checked_and_truth_conflicts_fail() -> None:
    t = GroundTruth()
    t.add("a", "el1", 0, 5)
    t.add("a", "el1", 900, 7)
    # the first copy is right, the second (a duplicate) carries another register
    c = compare(t, [msg("a", "el1", 0, 5), msg("a", "el1", 0, 6), msg("a", "el1", 900, 7)])
    assert c.altered == ((("a", "el1", 0), 5, 6),) and not c.ok
    # a board that closed interval 900 twice with different registers: not ok, even though
    # what was delivered matches the first close
    t.add("a", "el1", 900, 4)
    c = compare(t, [msg("a", "el1", 0, 5), msg("a", "el1", 900, 7)])
    assert c.conflicts == ((("a", "el1", 900), 7, 4),)
    assert not c.ok and c.as_dict()["truth_conflicts"] == 1
