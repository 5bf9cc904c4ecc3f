"""MicroPython side of the AT driver unit test: byte-exact against a scripted fake UART.

Prints "RESULT {json}" with what the driver wrote and what it returned.
"""

import asyncio
import json

from firmware.at_modem import AtError, AtModem
from firmware.at_table import QUECTEL, SIMCOM


class FakeHal:
    def io_ms(self, ms):
        return min(ms, 50)

    async def sleep_ms(self, ms):
        await asyncio.sleep_ms(0)


class FakeUart:
    """Records what the driver writes; answers each complete command with scripted chunks."""

    def __init__(self, script):
        self.script = script  # list of (expected write, [response chunks])
        self.written = []
        self.rx = []
        self._pending = b""

    def write(self, data):
        self._pending += bytes(data)
        while self.script and self._pending.startswith(self.script[0][0]):
            want, chunks = self.script.pop(0)
            self.written.append(want.decode())
            self._pending = self._pending[len(want):]
            self.rx.extend(chunks)

    async def drain(self):
        pass

    async def readinto(self, buf):
        while not self.rx:
            await asyncio.sleep_ms(5)
        c = self.rx.pop(0)
        buf[0 : len(c)] = c
        return len(c)


async def main():
    out = {}
    uart = FakeUart([
        (b"AT\r", [b"AT\r\r\n", b"OK\r\n"]),  # echo still on
        (b"ATE0\r", [b"ATE0\r\r\nOK\r\n"]),
        (b"AT+CEREG?\r", [b"\r\n+CEREG: 0,2\r\n\r\nOK\r\n"]),
        (b"AT+CREG?\r", [b"\r\n+CREG: 0,5\r\n", b"\r\nOK\r\n"]),
        (b"AT+CSQ\r", [b"\r\n+CSQ: 17,0\r\n\r\nOK\r\n"]),
        (b'AT+CIPSTART="TCP","gw.example",4810\r', [b"\r\nOK\r\n", b"\r\nCONNECT OK\r\n"]),
        (b"AT+CIPSEND=5\r", [b"\r\n> "]),
        # data arrives between the prompt and SEND OK, split, and contains CR LF itself
        (b"hello", [b"\r\n+IPD,6:", b"ab\r\n", b"cd\r\nSEND", b" OK\r\n"]),
        (b"AT+CIPSEND=3\r", [b"\r\n> "]),
        (b"xyz", [b"\r\nSEND FAIL\r\n"]),
        (b"AT+CIPSEND=1\r", [b"\r\n+CME ERROR: 3\r\n"]),
    ])
    m = AtModem(FakeHal(), uart, uart, SIMCOM)
    await m.sync()
    out["reg"] = await m.registration()
    out["csq"] = await m.signal()
    await m.connect("gw.example", 4810)
    await m.send(b"hello")
    buf = bytearray(16)
    n = await m.recv_into(buf, 100)
    out["recv"] = bytes(buf[0:n]).decode()
    out["recv_timeout"] = await m.recv_into(buf, 100)
    try:
        await m.send(b"xyz")
        out["send_fail"] = "no error"
    except AtError as e:
        out["send_fail"] = str(e)
    try:
        await m.send(b"!")
        out["cme"] = "no error"
    except AtError as e:
        out["cme"] = str(e)
    # the peer closes: a URC, then reading raises
    uart.rx.append(b"\r\nCLOSED\r\n")
    try:
        await m.recv_into(buf, 200)
        out["closed"] = "no error"
    except AtError as e:
        out["closed"] = str(e)
    out["written"] = uart.written
    # a second modem: connect refused
    u2 = FakeUart([(b'AT+CIPSTART="TCP","gw",1\r', [b"\r\nOK\r\n\r\nCONNECT FAIL\r\n"])])
    m2 = AtModem(FakeHal(), u2, u2, SIMCOM)
    try:
        await m2.connect("gw", 1)
        out["connect_fail"] = "no error"
    except AtError as e:
        out["connect_fail"] = str(e)
    # a third: silence -> timeout, not a hang
    u3 = FakeUart([(b"AT\r", [])] * 5)
    m3 = AtModem(FakeHal(), u3, u3, SIMCOM)
    try:
        await m3.sync(tries=5)
        out["silent"] = "no error"
    except AtError as e:
        out["silent"] = str(e)
    out["silent_tries"] = len(u3.written)
    # Quectel BG96 table: QIOPEN result URC, direct-push receive, closed URC
    u4 = FakeUart([
        (b'AT+QIOPEN=1,0,"TCP","gw",4810,0,1\r', [b"\r\nOK\r\n", b"\r\n+QIOPEN: 0,0\r\n"]),
        (b"AT+QISEND=0,3\r", [b"\r\n> "]),
        (b"abc", [b'\r\nSEND OK\r\n\r\n+QIURC: "recv",0,4\r\nz\r\n', b"y"]),
    ])
    m4 = AtModem(FakeHal(), u4, u4, QUECTEL)
    await m4.connect("gw", 4810)
    await m4.send(b"abc")
    n = await m4.recv_into(buf, 100)
    out["bg96_recv"] = bytes(buf[0:n]).decode()
    u4.rx.append(b'\r\n+QIURC: "closed",0\r\n')
    try:
        await m4.recv_into(buf, 200)
        out["bg96_closed"] = "no error"
    except AtError as e:
        out["bg96_closed"] = str(e)
    out["bg96_written"] = u4.written
    print("RESULT " + json.dumps(out))


asyncio.run(main())
