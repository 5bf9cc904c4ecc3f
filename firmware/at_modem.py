"""AT-command driver for a cellular modem on a byte stream (UART on a board, TCP in the sim).

One owner reads the stream: command responses, URCs and socket data are parsed by the same
loop, so data arriving in the middle of a command (`+IPD,<n>:`) is never lost. Every wait
has a timeout; errors raise `AtError` (an OSError, so the session backs off and retries).
"""

import asyncio

from micropython import const

_RX = const(512)
_DATA_MAX = const(4096)


class AtError(OSError):
    """`what` failed: the command or state, and the modem's answer (or "timeout")."""


class AtModem:
    def __init__(self, hal, reader, writer, table):
        self._hal = hal
        self._r = reader
        self._w = writer
        self.t = table
        self._buf = bytearray()  # bytes read, not parsed yet
        self._rx = bytearray(_RX)
        self._rxmv = memoryview(self._rx)
        self.data = bytearray()  # socket payload received, not yet consumed
        self.lines = []  # lines seen while waiting (for the caller)
        self.csq = 99
        self.open = False
        self.closed_urc = False
        self.broken = False  # the stream itself ended (simulator restarted, UART gone)

    # -- low level -----------------------------------------------------------------------------
    async def _fill(self, timeout_ms):
        try:
            n = await asyncio.wait_for_ms(self._r.readinto(self._rxmv),
                                          self._hal.io_ms(timeout_ms))
        except asyncio.TimeoutError:
            return False
        if not n:
            self.broken = True
            raise AtError("modem stream closed")
        self._buf.extend(self._rxmv[0:n])
        return True

    def _parse(self):
        """Take one token from the buffer: a line (str), ">" (prompt) or None if incomplete."""
        b = self._buf
        while b[:2] == b"\r\n":
            b[0:2] = b""
        if not b:
            return None
        rp = self.t["recv"].encode()
        if b[: len(rp)] == rp:
            if self.t["recv"][0:4] == "+IPD":
                colon = b.find(b":")
                if colon < 0:
                    return None
                n = int(b[len(rp) : colon])
                start = colon + 1
            else:
                eol = b.find(b"\r\n")
                if eol < 0:
                    return None
                n = int(b[len(rp) : eol])
                start = eol + 2
            if len(b) < start + n:
                return None
            if len(self.data) + n <= _DATA_MAX:
                self.data.extend(b[start : start + n])
            b[0 : start + n] = b""
            return ""
        if b[0:1] == b">":
            b[0:2 if b[1:2] == b" " else 1] = b""
            return ">"
        eol = b.find(b"\r\n")
        if eol < 0:
            return None
        line = bytes(b[0:eol]).decode()
        b[0 : eol + 2] = b""
        for c in self.t["closed"]:
            if line.startswith(c):
                self.open = False
                self.closed_urc = True
        return line

    async def _wait(self, finals, timeout_ms, errors=("ERROR", "+CME ERROR", "+CMS ERROR")):
        """Collect lines until one starts with a string of `finals`; return that line."""
        left = timeout_ms
        while True:
            tok = self._parse()
            while tok is not None:
                if tok:
                    for f in finals:
                        if tok.startswith(f):
                            return tok
                    for e in errors:
                        if tok.startswith(e):
                            raise AtError("modem answered %s" % tok)
                    self.lines.append(tok)
                tok = self._parse()
            if left <= 0:
                raise AtError("timeout waiting for %s" % (finals[0],))
            step = 500 if left > 500 else left
            await self._fill(step)
            left -= step

    async def cmd(self, text, finals=("OK",), timeout_ms=2000):
        """Send one command; return the final line. Info lines are left in `self.lines`."""
        self.lines = []
        self._w.write(text.encode() + b"\r")
        await self._w.drain()
        return await self._wait(finals, timeout_ms)

    # -- bring-up ------------------------------------------------------------------------------
    async def sync(self, tries=5):
        """Wake the modem (and its autobaud); switch echo off."""
        for _ in range(tries):
            try:
                await self.cmd("AT", timeout_ms=1000)
                break
            except AtError:
                pass
        else:
            raise AtError("modem does not answer AT")
        await self.cmd("ATE0")

    async def attach(self, apn, user="", pwd="", reg_polls=30):
        """SIM ready, network registration, PDP context up."""
        await self.cmd("AT+CPIN?")
        pin = ""
        for ln in self.lines:
            if ln.startswith("+CPIN:"):
                pin = ln
        if "READY" not in pin:
            raise AtError("SIM not ready: %s" % (pin or "no answer"))
        for _ in range(reg_polls):
            st = await self.registration()
            if st in (1, 5):
                break
            if st == 3:
                raise AtError("registration denied")
            await self._hal.sleep_ms(2000)
        else:
            raise AtError("not registered after %d polls" % reg_polls)
        await self.signal()
        for c in self.t["setup"]:
            await self.cmd(c)
        await self.cmd(self.t["apn"] % (apn, user, pwd))
        await self.cmd(self.t["up"], timeout_ms=85000)
        if self.t["ip"]:
            self.lines = []
            self._w.write(self.t["ip"].encode() + b"\r")
            await self._w.drain()
            await self._wait(("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"), 5000)

    async def registration(self):
        """Registration state (0 idle, 1 home, 2 searching, 3 denied, 5 roaming)."""
        best = 0
        for key in ("reg", "reg2"):
            text, prefix = self.t[key]
            await self.cmd(text)
            for ln in self.lines:
                if ln.startswith(prefix):
                    try:
                        st = int(ln.split(",")[1])
                    except (IndexError, ValueError):
                        continue
                    if st in (1, 5):
                        return st
                    best = st if best == 0 else best
        return best

    async def signal(self):
        await self.cmd("AT+CSQ")
        for ln in self.lines:
            if ln.startswith("+CSQ:"):
                try:
                    self.csq = int(ln[5:].split(",")[0])
                except ValueError:
                    self.csq = 99
        return self.csq

    # -- socket --------------------------------------------------------------------------------
    async def connect(self, host, port, timeout_ms=75000):
        self.data = bytearray()
        self.closed_urc = False
        await self.cmd(self.t["open"] % (host, port))
        line = await self._wait(self.t["open_ok"] + self.t["open_fail"], timeout_ms)
        for ok in self.t["open_ok"]:
            if line.startswith(ok):
                self.open = True
                return
        raise AtError("connect failed: %s" % line)

    async def send(self, data, timeout_ms=20000):
        if not self.open:
            raise AtError("socket closed")
        self.lines = []
        self._w.write((self.t["send"] % len(data)).encode() + b"\r")
        await self._w.drain()
        await self._wait((">",), 5000)
        self._w.write(data)
        await self._w.drain()
        line = await self._wait((self.t["sent"], self.t["send_fail"]), timeout_ms)
        if line.startswith(self.t["send_fail"]):
            raise AtError("send failed")

    async def recv_into(self, buf, timeout_ms):
        """Copy received socket bytes into buf; 0 on timeout; AtError once the peer closed."""
        left = timeout_ms
        while not self.data:
            if not self.open:
                raise AtError("socket closed by peer")
            while self._parse() is not None:
                pass  # URCs and stray lines; data lands in self.data
            if self.data:
                break
            if not self.open:
                raise AtError("socket closed by peer")
            if left <= 0:
                return 0
            step = 500 if left > 500 else left
            await self._fill(step)
            left -= step
        n = min(len(buf), len(self.data))
        buf[0:n] = self.data[0:n]
        self.data[0:n] = b""
        return n

    async def disconnect(self):
        if self.open:
            self.open = False
            try:
                await self.cmd(self.t["close"], ("CLOSE OK", "OK"), 5000)
            except AtError:
                pass

    async def reset(self):
        """Full functionality reset (the modem reboots and reports ready again)."""
        try:
            await self.cmd(self.t["reset"], ("OK",), 5000)
            await self._wait(self.t["ready"], 15000)
        except AtError:
            pass
        self._buf = bytearray()
        self.open = False
