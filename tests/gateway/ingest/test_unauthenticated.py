"""Connections that never authenticate are closed early; a frame cut by EOF is counted."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from gateway.ingest.limits import IngestLimits
from tests.gateway.ingest.board import Board, readings
from tests.gateway.ingest.conftest import Stack, make_devices, start_stack


async def test_silent_or_garbage_sockets_are_closed_by_the_auth_timeout(tmp_path: Path) -> None:
    # idle_timeout would keep a trickling socket for 60 s; auth_timeout closes it after 0.4 s
    limits = IngestLimits(idle_timeout_s=60, auth_timeout_s=0.4)
    stack = await start_stack(tmp_path, make_devices(1), limits=limits)
    try:
        silent = await asyncio.open_connection("127.0.0.1", stack.port)
        trickle = await asyncio.open_connection("127.0.0.1", stack.port)
        did, key = next(iter(stack.devices.items()))
        async with Board(did, key, stack.port) as good:
            await good.send(readings(did, 1))
            await good.wait_acked(1)
            t0 = time.monotonic()
            # bytes every 0.1 s keep the idle timer happy, but never an authentic frame
            with contextlib.suppress(ConnectionError):
                while time.monotonic() - t0 < 5 and not trickle[0].at_eof():
                    trickle[1].write(b"xx")
                    await trickle[1].drain()
                    await asyncio.sleep(0.1)
            assert 0.3 < time.monotonic() - t0 < 3
            assert await asyncio.wait_for(silent[0].read(), 3) == b""   # closed by the server
            await asyncio.sleep(0.5)
            assert not good.closed.is_set()  # the authenticated board is not affected
            await good.send(readings(did, 2))
            await good.wait_acked(2)
        assert stack.server.stats.closed["auth_timeout"] == 2
        for _r, w in (silent, trickle):
            w.close()
    finally:
        await stack.stop()


async def test_frame_cut_by_eof_is_counted_truncated(stack: Stack) -> None:
    did, key = next(iter(stack.devices.items()))
    async with Board(did, key, stack.port) as b:
        whole, cut = b.frame(readings(did, 1)), b.frame(readings(did, 2))
        await b.send(whole + cut[:20])
        await b.wait_acked(1)
    async def counted() -> None:
        while stack.server.stats.dropped["truncated"] == 0:
            await asyncio.sleep(0.02)
    await asyncio.wait_for(counted(), 3)
    assert stack.server.stats.dropped == {"truncated": 1}
    assert await stack.rows("SELECT counter FROM frames") == [(1,)]
