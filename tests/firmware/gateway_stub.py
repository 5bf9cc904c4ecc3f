"""A small gateway-side TCP server for firmware tests: decodes with protocol.codec, ACKs.

It stores every authenticated uplink frame by (device, counter), de-duplicates
retransmissions, and answers each frame with an ACK of the highest counter it has stored on
that connection (every frame before it on the connection is stored too: TCP keeps order).
Commands queued with `command()` ride on the next ACK.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

from protocol import codec
from protocol.stream import Deframer


class GatewayStub:
    def __init__(self, key: bytes, *, server_time: int | None = None) -> None:
        self.key = key
        self.server_time = server_time
        self.frames: list[dict[str, Any]] = []  # first arrival of each counter, in order
        self.duplicates = 0
        self.connections = 0
        self.bad = 0
        self.ack_on = True
        self._seen: dict[tuple[int, int], bytes] = {}
        self.conflicts = 0
        self._down = 0  # downlink counter
        self._commands: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]
        self._stop = False
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def command(self, cmd: dict[str, Any]) -> None:
        with self._lock:
            self._commands.append(cmd)

    def of_type(self, t: str) -> list[dict[str, Any]]:
        with self._lock:
            return [f for f in self.frames if f["type"] == t]

    def wait_for(self, pred, timeout: float = 30.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if pred(self):
                    return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self._stop = True
        self._sock.close()
        for c in self._conns:
            with contextlib.suppress(OSError):
                c.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        df = Deframer()
        best = None
        with conn:
            while not self._stop:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                device = None
                for raw in df.feed(data):
                    try:
                        msg = codec.decode(raw, self.key)
                    except Exception:  # count and skip anything undecodable
                        self.bad += 1
                        continue
                    key = (msg["device_id"], msg["counter"])
                    with self._lock:
                        if key in self._seen:
                            self.duplicates += 1
                            if self._seen[key] != raw:  # a counter reused for other bytes
                                self.conflicts += 1
                        else:
                            self._seen[key] = raw
                            self.frames.append(msg)
                    device = msg["device_id"]
                    best = msg["counter"] if best is None else max(best, msg["counter"])
                if device is None or not self.ack_on:
                    continue
                # one ACK per read: everything received so far on this connection is stored
                with self._lock:
                    cmds, self._commands = self._commands, []
                    self._down += 1
                    down = self._down
                st = self.server_time if self.server_time is not None else int(time.time())
                ack = {"type": "ack", "device_id": device, "counter": down, "acked": best,
                       "server_time": st, "commands": cmds}
                try:
                    conn.sendall(codec.encode(ack, self.key))
                except OSError:
                    return
