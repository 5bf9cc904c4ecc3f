"""Metering task: CT bursts and pulse draining, registers, aligned intervals, READINGS frames."""

from micropython import const

PARTIAL = const(0x01)
UNSYNCED = const(0x02)
POWER_LOSS = const(0x04)
SENSOR_FAULT = const(0x08)
REGISTER_RESET = const(0x20)
_MAX_PER_BLOCK = const(48)


class _Chan:
    """Register and open interval of one channel. `value` is in wire units (Wh, L, pulses);
    `frac` is the remainder below one unit in thousandths."""

    def __init__(self, cfg, dev):
        self.cfg = cfg
        self.id = cfg["id"]
        self.dev = dev
        self.unit = cfg["unit"]
        self.interval_s = cfg["interval_s"]
        self.value = 0
        self.frac = 0
        self.istart = 0
        self.flags = 0
        self.start_value = 0
        self.t_prev = None  # CT: wall time and power of the previous burst
        self.p_prev = 0.0
        self.k_prev = 0


class Meter:
    def __init__(self, hal, cfg, state, clock, sink, events):
        self.hal = hal
        self.cfg = cfg
        self.state = state
        self.clock = clock
        self.sink = sink
        self.events = events  # callable(code, channel, value)
        self.chans = []
        self.beat = 0
        self.closed = 0  # intervals closed since boot
        self.upload = None  # asyncio.Event set when a READINGS frame was queued
        self._done = []  # closed intervals waiting to be framed: (chan, start, value, flags)
        self._ticks = []  # pulse times from the debouncer (reused)
        self._dirty = 0  # register changes not yet persisted
        self._last_save = hal.ticks_ms()
        self.grace_s = cfg["close_grace_s"]
        self.tick_ms = cfg["tick_ms"]
        import gc

        for c in cfg["channels"]:
            gc.collect()
            if c["type"] == "ct":
                from firmware.ct import CtChannel

                dev = CtChannel(hal, c)
            else:
                from firmware.pulses import PulseInput

                dev = PulseInput(hal, c)
            self.chans.append(_Chan(c, dev))

    # -- boot -----------------------------------------------------------------------------------
    def resume(self, reset_cause):
        """Restore registers; close an interval left open by the reset; flag the new one."""
        now = self.hal.time()
        power = reset_cause in ("power_on", "brown_out", "unknown")
        cut = PARTIAL | (POWER_LOSS if power else 0)
        saved = self.state.data["ch"]
        by_id = {}
        for ch in self.chans:
            by_id[ch.id] = ch
        # Closed intervals saved before a reset may or may not have reached the queue:
        # frame them again (a copy is harmless: the same values under the same key).
        for cid, start, v, f in self.state.data.get("unsent", ()):
            ch = by_id.get(cid)
            if ch is not None:
                self._done.append((ch, start, v, f))
        for ch in self.chans:
            cur = now - now % ch.interval_s
            st = saved.get(str(ch.id))
            if st is None:
                ch.istart = cur
                ch.flags = PARTIAL | REGISTER_RESET
            else:
                ch.value, ch.frac, pstart, pflags = st
                if pstart == cur:
                    ch.istart = cur
                    ch.flags = pflags | cut
                else:
                    extra = 0 if pstart < cur else UNSYNCED
                    self._done.append((ch, pstart, ch.value, pflags | cut | extra))
                    ch.istart = cur
                    ch.flags = cut | extra
            if not self.clock.synced:
                ch.flags |= UNSYNCED
            ch.start_value = ch.value
        self._commit_closed()

    # -- persistence ----------------------------------------------------------------------------
    def persist(self):
        d = {}
        for ch in self.chans:
            d[str(ch.id)] = [ch.value, ch.frac, ch.istart, ch.flags]
        self.state.data["ch"] = d
        # the intervals about to be framed (see _commit_closed); empty once they were
        self.state.data["unsent"] = [[c.id, st, v, f] for c, st, v, f in self._done]
        self.state.save()
        self._dirty = 0
        self._last_save = self.hal.ticks_ms()

    # -- registers ------------------------------------------------------------------------------
    def _add(self, ch, milli):
        f = ch.frac + milli
        if f >= 1000:
            whole = int(f // 1000)
            ch.value += whole
            f -= whole * 1000
        ch.frac = int(f) if f < 1000 else 999
        self._dirty += 1

    def _close(self, ch):
        end = ch.istart + ch.interval_s
        self._done.append((ch, ch.istart, ch.value, ch.flags))
        thr = self.state.data["thr"].get(str(ch.id))
        used = ch.value - ch.start_value
        if thr and thr[1] > 0 and ((thr[0] == 0 and used > thr[1]) or
                                   (thr[0] == 1 and used < thr[1])):
            self.events("threshold", ch.id, used)
        ch.istart = end
        ch.start_value = ch.value
        ch.flags = 0 if self.clock.synced else UNSYNCED
        self.closed += 1

    def _integrate(self, ch, t, p):
        """Trapezoid energy from the previous burst to wall time t, split at boundaries."""
        if ch.t_prev is None or t <= ch.t_prev:  # first burst, or the clock stepped back
            while ch.istart + ch.interval_s <= t:
                self._close(ch)
            ch.t_prev = t
            ch.p_prev = p
            return
        t0 = ch.t_prev
        p0 = ch.p_prev
        span = t - t0
        while ch.istart + ch.interval_s <= t:
            end = ch.istart + ch.interval_s
            if end > t0:
                pe = p0 + (p - p0) * (end - t0) / span
                self._add(ch, (p0 + pe) * (end - t0) / 7.2)  # W*s/2 -> mWh: /2/3.6
                t0 = end
                p0 = pe
            self._close(ch)
        self._add(ch, (p0 + p) * (t - t0) / 7.2)
        ch.t_prev = t
        ch.p_prev = p

    # -- main loop ------------------------------------------------------------------------------
    def step(self):
        """One pass: bursts due, pulses drained, intervals closed and framed."""
        hal = self.hal
        if self.clock.jump:
            self._on_jump()
        now = hal.now()
        nk = hal.ticks_ms()
        grace = self.grace_s
        for ch in self.chans:
            dev = ch.dev
            if ch.unit == "Wh":
                c = ch.cfg
                end = ch.istart + ch.interval_s
                # inside the grace period after a boundary, wait for it: then the interval
                # closes in the same pass as the other channels (one frame per boundary)
                if (ch.t_prev is None or now - grace >= end or (
                        now < end and
                        hal.ticks_diff(nk, ch.k_prev) >= c["sample_every_s"] * 1000)):
                    p = dev.burst()
                    ch.k_prev = hal.ticks_ms()
                    if dev.fault:
                        ch.flags |= SENSOR_FAULT
                    self._integrate(ch, hal.now(), p)
            else:
                out = self._ticks
                ml = ch.cfg["pulse_ml"] if ch.unit == "L" else 1000
                more = True
                while more:  # the simulated IRQ hands over edges in bounded batches
                    more = hal.pulse_poll(ch.id, now)
                    pk = hal.ticks_ms()  # `now` stays the pass's time: channels close together
                    pw = hal.now()
                    dev.drain(pk, out)
                    for tk in out:
                        w = pw - hal.ticks_diff(pk, tk) / 1000
                        while w >= ch.istart + ch.interval_s:
                            self._close(ch)
                        self._add(ch, ml)
                    out.clear()
                if dev.overflow:
                    ch.flags |= SENSOR_FAULT
                    dev.overflow = 0
                age = dev.pending(pk)
                if age >= 0 and pw - age / 1000 < ch.istart + ch.interval_s:
                    continue  # an unconfirmed edge may still be a pulse of this interval
            if not self.clock.synced:
                ch.flags |= UNSYNCED
            while now - grace >= ch.istart + ch.interval_s:
                start = ch.istart
                if ch.unit == "Wh" and ch.t_prev is not None:
                    self._integrate(ch, ch.istart + ch.interval_s, ch.p_prev)
                if ch.istart == start:  # not closed by the integration: close it now
                    self._close(ch)
        if self._done:
            self._commit_closed()
        elif self._dirty and hal.ticks_diff(hal.ticks_ms(), self._last_save) >= (
                self.cfg["persist_s"] * 1000):
            self.persist()
        self.beat += 1

    def _on_jump(self):
        """The clock was corrected: close the open intervals as partial, realign."""
        self.clock.jump = 0
        now = self.hal.time()
        for ch in self.chans:
            self._done.append((ch, ch.istart, ch.value, ch.flags | PARTIAL | UNSYNCED))
            ch.istart = now - now % ch.interval_s
            ch.start_value = ch.value
            ch.flags = PARTIAL
            ch.t_prev = None
        self._commit_closed()

    def _commit_closed(self):
        """Save the state with the closed intervals, then frame them.

        The state file and the queue are two files: a reset between the two writes must
        neither close an interval twice (framing first, then a reset before the save, closed
        the saved open interval again with an older register: two different readings) nor
        lose one (saving first without them). The closed intervals go into the state as
        `unsent` and resume() frames them again: at worst an identical copy, which the gateway
        stores once. The next save clears the list."""
        self.persist()
        self._flush()

    def _flush(self):
        """Frame the closed intervals: one READINGS frame, one block per run of intervals."""
        done = self._done
        blocks = []
        i = 0
        while i < len(done):
            ch, start, v, f = done[i]
            regs = [v]
            flags = [f]
            j = i + 1
            while (j < len(done) and done[j][0] is ch and len(regs) < _MAX_PER_BLOCK and
                   done[j][1] == start + len(regs) * ch.interval_s):
                regs.append(done[j][2])
                flags.append(done[j][3])
                j += 1
            blocks.append({"channel": ch.id, "unit": ch.unit, "interval_s": ch.interval_s,
                           "start": start, "registers": regs, "flags": flags})
            i = j
        done.clear()
        for k in range(0, len(blocks), 8):
            self.sink({"type": "readings", "blocks": blocks[k : k + 8]})
        if self.upload is not None:
            self.upload.set()

    async def run(self):
        hal = self.hal
        while True:
            self.step()
            await hal.sleep_ms(self.tick_ms)
