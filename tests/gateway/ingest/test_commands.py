"""Command queue: validation errors, delivery inside ACKs, results, redelivery per connection."""

from __future__ import annotations

import pytest

from gateway.commands import (
    CommandError,
    list_commands,
    queue_command,
    results_since,
    validate_command,
)
from tests.gateway.ingest.board import Board, readings
from tests.gateway.ingest.conftest import Stack


@pytest.mark.parametrize(("name", "params", "field", "text"), [
    ("explode", {}, "name", "unknown command 'explode'"),
    ("set_interval", {"channel": 0, "period": 5}, "params.period", "no parameter 'period'"),
    ("set_interval", {"channel": 300, "sample_s": 60}, "params.channel", "300 is out of range"),
    ("set_interval", {"channel": 0, "sample_s": "60"}, "params.sample_s", "must be an integer"),
    ("set_interval", {"channel": 0}, "params", "needs at least one of sample_s"),
    ("set_time", {}, "params.time", "set_time needs time"),
    ("resend", {"from_counter": 9, "to_counter": 3}, "params.to_counter", "below from_counter"),
    ("reboot", {"now": 1}, "params.now", "takes no parameters"),
    # the board's own ranges, PROTOCOL.md 5.6
    ("set_interval", {"channel": 0, "sample_s": 3601}, "params.sample_s", "out of range 1..3600"),
    ("set_threshold", {"channel": 0, "kind": 2}, "params.kind", "out of range 0..1"),
    ("set_threshold", {"channel": 0, "value": -1}, "params.value", "-1 is out of range"),
    ("set_time", {"time": 0}, "params.time", "out of range 1..4294967294"),
])
def test_validation_names_the_field(name: str, params: dict, field: str, text: str) -> None:
    with pytest.raises(CommandError) as err:
        validate_command(name, params)
    assert err.value.field == field
    assert text in str(err.value)


async def test_unknown_device_rejected(stack: Stack) -> None:
    with pytest.raises(CommandError, match="device 0badbeef is not registered"):
        await stack.db.write(queue_command, 0x0BADBEEF, "reboot", {})


async def test_commands_ride_acks_until_result(stack: Stack) -> None:
    did, key = next(iter(stack.devices.items()))
    c1 = await stack.db.write(queue_command, did, "set_interval",
                              {"channel": 0, "sample_s": 10, "upload_s": 900})
    c2 = await stack.db.write(queue_command, did, "reboot", {}, ref="ops-42")
    assert (c1, c2) == (1, 2)
    async with Board(did, key, stack.port) as b:
        await b.send(readings(did, 1))
        await b.wait_acked(1)
        await b.send(readings(did, 2))
        await b.wait_acked(2)
        # board reports the first result only
        await b.send({"type": "command_result", "device_id": did, "counter": 3, "cmd_id": c1,
                      "status": "ok", "detail": 0})
        await b.wait_acked(3)
    delivered = [c for a in b.acks for c in a["commands"]]
    assert delivered == [
        {"cmd_id": 1, "name": "set_interval",
         "params": {"channel": 0, "sample_s": 10, "upload_s": 900}},
        {"cmd_id": 2, "name": "reboot", "params": {}},
    ]                                  # once per connection, not in every ACK
    states = {c["cmd_id"]: (c["state"], c["result"]) for c in
              await stack.db.read(list_commands, did)}
    assert states == {1: ("done", {"status": "ok", "detail": 0}), 2: ("sent", None)}
    # next connection: the unanswered command is delivered again, the done one is not
    async with Board(did, key, stack.port) as b2:
        await b2.send(readings(did, 4))
        await b2.wait_acked(4)
        await b2.send({"type": "command_result", "device_id": did, "counter": 5, "cmd_id": c2,
                       "status": "not_available", "detail": -3})
        await b2.wait_acked(5)
    assert [c["cmd_id"] for a in b2.acks for c in a["commands"]] == [2]
    states = {c["cmd_id"]: c["state"] for c in await stack.db.read(list_commands, did)}
    assert states == {1: "done", 2: "failed"}
    # a repeated result changes nothing
    async with Board(did, key, stack.port) as b3:
        await b3.send({"type": "command_result", "device_id": did, "counter": 6, "cmd_id": c2,
                       "status": "ok", "detail": 0})
        await b3.wait_acked(6)
    assert {c["cmd_id"]: c["state"] for c in await stack.db.read(list_commands, did)} == states
    finished = await stack.db.read(results_since, 0)
    assert [(r["result_seq"], r["cmd_id"], r["state"], r["ref"]) for r in finished] == [
        (1, 1, "done", None), (2, 2, "failed", "ops-42")]
    assert await stack.db.read(results_since, 2) == []


def test_upload_at_once_is_a_valid_upload_interval() -> None:
    # upload_s 0 = upload as soon as a frame is queued (PROTOCOL.md 5.6)
    assert validate_command("set_interval", {"upload_s": 0}) == {"upload_s": 0}
