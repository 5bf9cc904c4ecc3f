"""Sim feed reader for hal_sim: time-stamped command lines from a file or a TCP stream.

Protocol: docs/FIRMWARE.md, "Sim feed protocol". `pump(now_ms, apply)` calls
`apply(at_ms, args)` for every line whose time has come, in order.
"""


class SimFeed:
    def __init__(self, source, start_ms):
        self._start = start_ms
        self._file = None
        self._sock = None
        self._buf = b""
        self._pending = None
        if source.startswith("tcp:"):
            import socket

            host, port = source[4:].rsplit(":", 1)
            s = socket.socket()
            s.connect(socket.getaddrinfo(host, int(port))[0][-1])
            s.setblocking(False)
            self._sock = s
        else:
            self._file = open(source)

    def _line(self):
        if self._file is not None:
            ln = self._file.readline()
            return ln if ln else None
        try:
            d = self._sock.recv(512)
            if d:
                self._buf += d
        except OSError:
            pass
        i = self._buf.find(b"\n")
        if i < 0:
            return None
        ln = self._buf[:i].decode()
        self._buf = self._buf[i + 1 :]
        return ln

    def pump(self, now, apply):
        while True:
            if self._pending is None:
                ln = self._line()
                if ln is None:
                    return
                ln = ln.strip()
                if not ln or ln[0] == "#":
                    continue
                parts = ln.split()
                w = parts[0]
                if w == "now":
                    at = 0
                elif w[0] == "+":
                    at = self._start + int(float(w[1:]) * 1000)
                else:
                    at = int(float(w) * 1000)
                self._pending = (at, parts[1:])
            at, args = self._pending
            if at > now:
                return
            self._pending = None
            apply(at if at else now, args)


def train(start, n, period, width, bounce, bounce_ms, release_bounce, active):
    """Edges (ms, level) of n pulses; bouncing contacts alternate before they settle."""
    idle = 1 - active
    i = 0
    while n < 0 or i < n:
        t = start + i * period
        for k in range(2 * bounce):
            yield t + k * bounce_ms / (2 * bounce + 1), active if k % 2 == 0 else idle
        yield t + (bounce_ms if bounce else 0), active
        t += width
        for k in range(2 * release_bounce):
            yield t + k * bounce_ms / (2 * release_bounce + 1), idle if k % 2 == 0 else active
        yield t + (bounce_ms if release_bounce else 0), idle
        i += 1


