"""Cellular link: the session's link interface over the AT driver, with modem power cycles.

`open()` brings the modem up when needed (AT, SIM, registration, PDP) and opens the TCP
socket. After `power_cycle_after` consecutive failures the modem is reset (AT+CFUN=1,1 and,
on a board, its power/PWRKEY lines) and brought up from scratch. The board never reboots
because the network or the gateway is unreachable.
"""

from firmware.at_modem import AtError, AtModem
from firmware.at_table import TABLES


class ModemLink:
    def __init__(self, hal, cfg):
        self._hal = hal
        self._m = cfg["modem"]
        self._table = TABLES[self._m["type"]]
        self._at = None
        self._ready = False
        self.failures = 0
        self.power_cycles = 0

    async def _modem(self):
        if self._at is not None and self._at.broken:
            self._at = None
            self._ready = False
        if self._at is None:
            r, w = await self._hal.modem_stream(self._m)
            self._at = AtModem(self._hal, r, w, self._table)
        return self._at

    async def open(self, host, port, timeout_ms):
        try:
            at = await self._modem()
            if not self._ready:
                await at.sync()
                await at.attach(self._m["apn"], self._m["apn_user"], self._m["apn_pass"])
                self._ready = True
            await at.connect(host, port, timeout_ms)
        except OSError as e:
            self.failures += 1
            self._ready = False
            if self.failures % self._m["power_cycle_after"] == 0:
                await self.power_cycle()
            raise AtError("modem: %s" % (e,))
        self.failures = 0

    async def power_cycle(self):
        self.power_cycles += 1
        self._hal.modem_power(False)
        self._hal.modem_power(True)
        if self._at is not None:
            await self._at.reset()
        self._ready = False

    async def write(self, data):
        await self._at.send(data)

    async def read_into(self, buf, timeout_ms):
        return await self._at.recv_into(buf, timeout_ms)

    async def close(self):
        if self._at is not None:
            try:
                await self._at.disconnect()
            except OSError:
                self._at = None  # the stream itself broke: reopen it next time
                self._ready = False

    def csq(self):
        return self._at.csq if self._at is not None else 99
