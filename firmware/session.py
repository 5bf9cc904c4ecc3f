"""Uplink session: connect, send the flash queue oldest-first in batches, apply ACKs/COMMANDs.

Retries back off exponentially with jitter and never reboot the board. Downlink replay
(PROTOCOL.md section 7): a frame whose counter is not above the highest one accepted so far
(`DownlinkFloor`, kept in flash) is dropped, and the floor is saved before a frame has any
effect. An ACK releases records, and its server_time sets the clock, only if its `acked`
counter was sent on the current connection (a ring of the last 64 sent records maps counter ->
queue position).
"""

import array

from micropython import const

from firmware.state import DownlinkFloor
from protocol import codec, frame
from protocol.errors import BadTag, ProtocolError
from protocol.stream import Deframer

_RING = const(64)


class Session:
    def __init__(self, app):
        self.app = app
        cfg = app.cfg["upload"]
        self._cfg = cfg
        self._hal = app.hal
        self._q = app.queue
        self.link = app.hal.open_link(app.cfg)
        self._rx = bytearray(256)
        self._rxmv = memoryview(self._rx)
        self._df = Deframer()
        self._rc = array.array("I", bytes(4 * _RING))  # counter sent
        self._rs = array.array("I", bytes(4 * _RING))  # queue position after it: segment
        self._ro = array.array("I", bytes(4 * _RING))  # ... and offset
        self._rk = array.array("I", bytes(4 * _RING))  # ordinal on this connection
        self._rn = 0
        self.connected = False
        self.fails = 0
        self.connects = 0
        self.acks = 0
        self.sent = 0
        self.beat = 0
        self._resend = None  # (seq, off, to_counter) while a resend is running
        self.floor = DownlinkFloor(app.state.dir + "/dl", app.sink.cipher, app.queue.make_room)
        self.replays = 0  # authentic downlink frames dropped: counter not above the floor

    # -- public -------------------------------------------------------------------------------
    def resend(self, from_counter, to_counter):
        pos = self._q.find_counter(from_counter)
        if pos is None:
            return False
        self._resend = (pos[0], pos[1], to_counter)
        self.app.upload.set()
        return True

    async def run(self):
        app = self.app
        hal = self._hal
        while True:
            self.beat += 1
            if self._q.depth == 0 and self._resend is None:
                app.upload.clear()
                await app.upload.wait()
                every = app.state.data.get("upload_s", self._cfg["every_s"])
                if every:
                    await hal.sleep_ms(every * 1000)
            ok = False
            try:
                ok = await self._connection()
            except (OSError, ProtocolError) as e:
                app.log("link: %s" % (e,))
            except Exception as e:  # a bug must not end uploads for good: log, back off
                app.log("session error: %r" % (e,))
            await self._close()
            if ok:
                self.fails = 0
                continue
            self.fails += 1
            d = min(self._cfg["backoff_max_s"],
                    self._cfg["backoff_min_s"] * (1 << min(self.fails - 1, 16)))
            d = d * (0.5 + hal.rand())  # jitter: 50 %..150 %
            app.log("link: retry %d in %d s" % (self.fails, d))
            await hal.sleep_ms(int(d * 1000))

    # -- one connection -----------------------------------------------------------------------
    async def _close(self):
        if self.connected:
            self.connected = False
            await self.link.close()

    async def _connection(self):
        """Connect and pump the queue; True when the link ended idle, not on an error."""
        app = self.app
        gw = app.cfg["gateway"]
        await self.link.open(gw["host"], gw["port"], self._cfg["connect_timeout_s"] * 1000)
        self.connected = True
        self.connects += 1
        self._df.reset()
        self._rn = 0
        q = self._q
        cur_s, cur_o = q.head_seq, q.head_off
        sent_k = 0  # records sent on this connection
        self._acked_k = 0
        batch = self._cfg["batch"]
        while True:
            self.beat += 1
            if (cur_s, cur_o) < (q.head_seq, q.head_off):  # records dropped under us
                cur_s, cur_o = q.head_seq, q.head_off
            n_batch = 0
            while n_batch < batch:
                n, ns, no = q.read(cur_s, cur_o)
                if n == 0:
                    break
                c = q.counter_of()
                await self.link.write(q.frame[0:n])
                i = self._rn % _RING
                self._rc[i] = c
                self._rs[i] = ns
                self._ro[i] = no
                self._rk[i] = sent_k
                self._rn += 1
                sent_k += 1
                cur_s, cur_o = ns, no
                n_batch += 1
                self.sent += 1
            if n_batch:
                await self._await_ack(sent_k)
                continue
            if self._resend is not None:
                await self._send_resend(batch)
                continue
            # idle: listen for downlink until new frames are queued or the idle timer ends
            app.upload.clear()
            waited = 0
            idle_ms = self._cfg["idle_close_s"] * 1000
            while not app.upload.is_set() and waited < idle_ms:
                await self._receive(1000)
                waited += 1000
            if not app.upload.is_set():
                return True

    async def _send_resend(self, batch):
        """Re-send acknowledged history byte-identically (the gateway de-duplicates)."""
        q = self._q
        s, o, to = self._resend
        k = 0
        while k < batch:
            n, ns, no = q.read(s, o)
            if n == 0 or q.counter_of() > to or (ns, no) > (q.head_seq, q.head_off):
                self._resend = None
                return
            await self.link.write(q.frame[0:n])
            s, o = ns, no
            k += 1
        self._resend = (s, o, to)

    async def _await_ack(self, sent_k):
        """Read downlink until every record sent so far is acknowledged, or time out."""
        t = self._cfg["ack_timeout_s"] * 1000
        waited = 0
        while self._acked_k < sent_k:
            if waited >= t:
                raise OSError("no ACK within %d s" % (t // 1000))
            got = await self._receive(2000)
            waited = 0 if got else waited + 2000

    async def _receive(self, timeout_ms):
        """Read once; handle complete downlink frames. Returns True if an ACK released data."""
        self.beat += 1
        n = await self.link.read_into(self._rxmv, timeout_ms)
        if n == 0:
            return False
        frames = self._df.feed(self._rxmv[0:n])
        self._best = -1  # newest ring slot acknowledged in this read: one flash write
        top = self.floor.value
        fresh = []
        while frames:
            raw = frames.pop(0)
            try:
                h, payload = frame.open_frame(self.app.sink.cipher, raw)
            except BadTag:
                frames.extend(self._df.reject(raw))
                continue
            except ProtocolError:
                continue
            if h.device_id != self.app.cfg["device_id"] or not h.downlink:
                continue
            if h.counter <= top:
                self.replays += 1
                self.app.log("link: downlink counter %d not above %d: replay dropped" % (
                    h.counter, top))
                continue
            try:
                body = codec.decode_payload(h.ftype, payload)
            except ProtocolError:
                continue
            top = h.counter
            fresh.append((h.ftype, body))
        # one flash write for the read, before any frame of it takes effect
        if not fresh or not self.floor.advance(top):
            return False
        for ftype, body in fresh:
            if ftype == frame.ACK:
                self._on_ack(body)
                if body["commands"]:
                    self.app.commands(body["commands"])
            elif ftype == frame.COMMAND:
                self.app.commands([body])
        i = self._best
        if i < 0:
            return False
        k = self._rk[i] + 1
        self._q.release(self._rs[i], self._ro[i], k - self._acked_k)
        self._acked_k = k
        return True

    def _on_ack(self, body):
        n = body["acked"]
        self.acks += 1
        lo = self._rn - _RING if self._rn > _RING else 0
        found = -1
        for j in range(self._rn - 1, lo - 1, -1):
            if self._rc[j % _RING] == n:
                found = j % _RING
                break
        if found < 0:
            return  # not a counter sent on this connection: stale, its server_time too
        self.app.clock_sync(body["server_time"])
        k = self._rk[found] + 1
        if k > self._acked_k and (self._best < 0 or k > self._rk[self._best] + 1):
            self._best = found
