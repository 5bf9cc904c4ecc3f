"""Simulated SIMCom SIM7000 cellular modem on a TCP socket, bridging its data to a real host.

The board's real AT driver (firmware/at_modem.py) talks to this instead of a UART. It
answers the commands the driver uses (AT, ATE0, CPIN?, CEREG?/CREG?, CSQ, CIPMUX, CIPHEAD,
CSTT, CIICR, CIFSR, CIPSTART, CIPSEND, CIPCLOSE, CIPSHUT, CFUN=1,1) and relays the TCP
connection to `target` (the gateway, or in a simulation run the board's link proxy).
Faults can be injected at start or at run time: no network registration (until a number of
modem resets), failed connects, a dropped connection after a number of uplink bytes, and
from a simulation run `set_network(False)` (coverage lost: registration searching, the PDP
context deactivated, the socket closed with `+PDP: DEACT`) and `drop_data()` (the carrier
closes the socket: `CLOSED`).

    python -m simulator.modem --listen 127.0.0.1:5555 --target 127.0.0.1:4810 \\
        [--register-after-resets N | --no-register] [--fail-connects N] \\
        [--drop-after-bytes N] [--csq 18]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
from dataclasses import dataclass, field

__all__ = ["ModemFaults", "SimModem", "main"]


@dataclass
class ModemFaults:
    """Injectable faults; tests may change them while the modem runs."""

    no_register: bool = False  # never registers
    network_down: bool = False  # no coverage now (a link outage): set with set_network()
    register_after_resets: int = 0  # registration fails until this many CFUN resets
    fail_connects: int = 0  # the next N CIPSTART answer CONNECT FAIL
    drop_after_bytes: int | None = None  # close the data link once after N uplink bytes
    csq: int = 18


@dataclass
class ModemStats:
    resets: int = 0
    connects: int = 0
    unregistered: int = 0  # registration queries answered "searching" (no coverage)
    drops: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    commands: list[str] = field(default_factory=list)


class SimModem:
    """One simulated modem; `start()` returns the TCP port its "UART" listens on."""

    def __init__(self, target: tuple[str, int], faults: ModemFaults | None = None) -> None:
        self.target = target
        self.faults = faults or ModemFaults()
        self.stats = ModemStats()
        self._server: asyncio.base_events.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sessions: set[_Session] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._client, host, port)
        return self._server.sockets[0].getsockname()[1]

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Run the modem on its own event loop in a daemon thread (for tests)."""
        ready = threading.Event()
        result: list[int] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            result.append(loop.run_until_complete(self.start(host, port)))
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return result[0]

    async def close(self) -> None:
        """Stop listening and end this modem's client sessions (only its own tasks: the
        modem may share an event loop with a whole simulation run)."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- run-time network faults (simulation runs) ---------------------------------------------
    async def set_network(self, up: bool) -> None:
        """Coverage lost or back. Lost: registration reports searching, open sockets close
        with `+PDP: DEACT` and the PDP context must be brought up again."""
        if up == (not self.faults.network_down):
            return
        self.faults.network_down = not up
        if not up:
            for s in list(self._sessions):
                await s.lose_network()

    async def drop_data(self) -> None:
        """The network closes the data connection of every session (`CLOSED`)."""
        for s in list(self._sessions):
            await s.drop_data()

    def stop(self) -> None:
        """Stop a modem started with `start_in_thread`."""
        loop = self._loop
        if loop is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self.close(), loop)
        with contextlib.suppress(Exception):
            fut.result(5)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    # -- one "UART" client ---------------------------------------------------------------------
    async def _client(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        s = _Session(self, r, w)
        me = asyncio.current_task()
        if me is not None:
            self._tasks.add(me)  # type: ignore[arg-type]
        self._sessions.add(s)
        try:
            await s.run()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the board went away, or the modem is shutting down
        finally:
            self._sessions.discard(s)
            await s.close_data()
            w.close()
            if me is not None:
                self._tasks.discard(me)  # type: ignore[arg-type]


class _Session:
    def __init__(self, modem: SimModem, r: asyncio.StreamReader, w: asyncio.StreamWriter):
        self.m = modem
        self.r = r
        self.w = w
        self.echo = True
        self.head = False
        self.pdp = False
        self.apn_set = False
        self.up_r: asyncio.StreamReader | None = None
        self.up_w: asyncio.StreamWriter | None = None
        self.pump: asyncio.Task[None] | None = None
        self.sent_since_open = 0

    def _out(self, text: str) -> None:
        self.w.write(b"\r\n" + text.encode() + b"\r\n")

    def _registered(self) -> bool:
        f = self.m.faults
        return (not f.no_register and not f.network_down
                and self.m.stats.resets >= f.register_after_resets)

    async def lose_network(self) -> None:
        had_socket, had_pdp = self.up_w is not None, self.pdp
        await self.close_data()
        self.pdp = False
        if had_socket:
            self._out("CLOSED")
        if had_pdp:
            self._out("+PDP: DEACT")
        with contextlib.suppress(ConnectionError):
            await self.w.drain()

    async def drop_data(self) -> None:
        if self.up_w is None:
            return
        self.m.stats.drops += 1
        await self.close_data()
        self._out("CLOSED")
        with contextlib.suppress(ConnectionError):
            await self.w.drain()

    async def run(self) -> None:
        buf = b""
        while True:
            chunk = await self.r.read(1024)
            if not chunk:
                return
            buf += chunk
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                buf = buf.lstrip(b"\n")
                text = line.decode(errors="replace").strip()
                if not text:
                    continue
                if self.echo:
                    self.w.write(line + b"\r\n")
                buf = await self._command(text, buf)
                await self.w.drain()

    async def _command(self, cmd: str, rest: bytes) -> bytes:
        """Execute one command; return the unparsed input left after it (CIPSEND data)."""
        self.m.stats.commands.append(cmd)
        u = cmd.upper()
        f = self.m.faults
        if u == "AT":
            self._out("OK")
        elif u == "ATE0":
            self.echo = False
            self._out("OK")
        elif u == "AT+CPIN?":
            self._out("+CPIN: READY")
            self._out("OK")
        elif u in ("AT+CEREG?", "AT+CREG?"):
            stat = 1 if self._registered() else 2
            self.m.stats.unregistered += stat == 2
            self._out(f"{u[2:-1]}: 0,{stat}")
            self._out("OK")
        elif u == "AT+CSQ":
            self._out(f"+CSQ: {f.csq},0")
            self._out("OK")
        elif u == "AT+CIPMUX=0":
            self._out("OK")
        elif u.startswith("AT+CIPHEAD="):
            self.head = u.endswith("1")
            self._out("OK")
        elif u.startswith("AT+CSTT="):
            self.apn_set = True
            self._out("OK")
        elif u == "AT+CIICR":
            if self.apn_set and self._registered():
                self.pdp = True
                self._out("OK")
            else:
                self._out("ERROR")
        elif u == "AT+CIFSR":
            self._out("10.64.0.7" if self.pdp else "ERROR")
        elif u.startswith("AT+CIPSTART="):
            await self._connect(cmd)
        elif u.startswith("AT+CIPSEND="):
            return await self._send(int(u.split("=", 1)[1]), rest)
        elif u.startswith("AT+CIPCLOSE"):
            ok = self.up_w is not None
            await self.close_data()
            self._out("CLOSE OK" if ok else "ERROR")
        elif u == "AT+CIPSHUT":
            await self.close_data()
            self.pdp = False
            self._out("SHUT OK")
        elif u == "AT+CFUN=1,1":
            self._out("OK")
            await self.w.drain()
            await self.close_data()
            self.m.stats.resets += 1
            self.echo, self.head, self.pdp, self.apn_set = True, False, False, False
            await asyncio.sleep(0.05)
            self._out("RDY")
        else:
            self._out("ERROR")
        return rest

    async def _connect(self, cmd: str) -> None:
        f = self.m.faults
        if not self.pdp:
            self._out("ERROR")
            return
        self._out("OK")
        if self.up_w is not None:
            self._out("ALREADY CONNECT")
            return
        if f.fail_connects > 0 or not self._registered():
            f.fail_connects = max(0, f.fail_connects - 1)
            self._out("CONNECT FAIL")
            return
        try:
            self.up_r, self.up_w = await asyncio.open_connection(*self.m.target)
        except OSError:
            self._out("CONNECT FAIL")
            return
        self.m.stats.connects += 1
        self.sent_since_open = 0
        self._out("CONNECT OK")
        self.pump = asyncio.create_task(self._downlink())

    async def _send(self, n: int, rest: bytes) -> bytes:
        if self.up_w is None:
            self._out("ERROR")
            return rest
        self.w.write(b"\r\n> ")
        await self.w.drain()
        while len(rest) < n:
            chunk = await self.r.read(2048)
            if not chunk:
                raise ConnectionError("uart closed during CIPSEND")
            rest += chunk
        data, rest = rest[:n], rest[n:]
        if self.up_w is None:  # the network closed the socket while the data came in
            self._out("SEND FAIL")
            return rest
        f = self.m.faults
        if f.drop_after_bytes is not None and self.sent_since_open + n > f.drop_after_bytes:
            # the radio link dies mid-frame: part of the data leaves, then the socket closes
            part = max(0, f.drop_after_bytes - self.sent_since_open)
            f.drop_after_bytes = None
            self.up_w.write(data[:part])
            self.m.stats.drops += 1
            await self.close_data()
            self._out("SEND FAIL")
            self._out("CLOSED")
            return rest
        try:
            self.up_w.write(data)
            await self.up_w.drain()
        except ConnectionError:
            await self.close_data()
            self._out("SEND FAIL")
            self._out("CLOSED")
            return rest
        self.sent_since_open += n
        self.m.stats.bytes_up += n
        self._out("SEND OK")
        return rest

    async def _downlink(self) -> None:
        assert self.up_r is not None
        while True:
            try:
                data = await self.up_r.read(1024)
            except ConnectionError:
                data = b""
            if not data:
                break
            self.m.stats.bytes_down += len(data)
            if self.head:
                self.w.write(b"\r\n+IPD,%d:" % len(data) + data)
            else:
                self.w.write(data)
            await self.w.drain()
        if self.up_w is not None:
            self.up_w.close()
            self.up_w = None
            self.up_r = None
            self._out("CLOSED")
            with contextlib.suppress(ConnectionError):
                await self.w.drain()

    async def close_data(self) -> None:
        if self.pump is not None:
            self.pump.cancel()
            self.pump = None
        if self.up_w is not None:
            self.up_w.close()
            self.up_w = None
            self.up_r = None


def _addr(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", default="127.0.0.1:5555", help="HOST:PORT of the modem UART")
    p.add_argument("--target", required=True, help="HOST:PORT the data connection reaches")
    p.add_argument("--no-register", action="store_true")
    p.add_argument("--register-after-resets", type=int, default=0)
    p.add_argument("--fail-connects", type=int, default=0)
    p.add_argument("--drop-after-bytes", type=int, default=None)
    p.add_argument("--csq", type=int, default=18)
    a = p.parse_args(argv)
    faults = ModemFaults(a.no_register, a.register_after_resets, a.fail_connects,
                         a.drop_after_bytes, a.csq)
    modem = SimModem(_addr(a.target), faults)
    host, port = _addr(a.listen)

    async def serve() -> None:
        got = await modem.start(host, port)
        print(f"modem listening on {host}:{got}, bridging to {a.target}", flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
