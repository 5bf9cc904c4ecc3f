"""Direct TCP link (unix port, or a board on Wi-Fi/Ethernet): the interface the session uses.

Interface shared with `link_modem.ModemLink`: `await open(host, port)`, `await write(mv)`,
`await read_into(buf, timeout_ms)` (0 on timeout; OSError when the link is gone),
`await close()`, `csq()`. Raise OSError for every link failure.
"""

import asyncio


class SocketLink:
    def __init__(self, hal):
        self._hal = hal
        self._r = None
        self._w = None
        self._epoch = 0
        self.failures = 0
        self.power_cycles = 0

    def _check(self):
        hal = self._hal
        if getattr(hal, "link_epoch", 0) != self._epoch:
            raise OSError("link dropped")

    async def open(self, host, port, timeout_ms):
        hal = self._hal
        if not getattr(hal, "link_up", True):
            self.failures += 1
            raise OSError("no network")
        self._epoch = getattr(hal, "link_epoch", 0)
        try:
            self._r, self._w = await asyncio.wait_for_ms(
                asyncio.open_connection(host, port), hal.io_ms(timeout_ms))
        except asyncio.TimeoutError:
            self.failures += 1
            raise OSError("connect timeout")
        except OSError:
            self.failures += 1
            raise
        self.failures = 0

    async def write(self, data):
        self._check()
        self._w.write(data)
        await self._w.drain()

    async def read_into(self, buf, timeout_ms):
        self._check()
        try:
            n = await asyncio.wait_for_ms(self._r.readinto(buf), self._hal.io_ms(timeout_ms))
        except asyncio.TimeoutError:
            self._check()
            return 0
        if not n:
            raise OSError("closed by peer")
        return n

    async def close(self):
        w = self._w
        self._r = self._w = None
        if w is not None:
            try:
                w.close()
                await w.wait_closed()
            except OSError:
                pass

    def csq(self):
        return getattr(self._hal, "csq_v", 99)
