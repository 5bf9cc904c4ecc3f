"""Gas-meter pulse input: the IRQ only timestamps edges into a ring; debounce runs outside.

A level counts once it has been stable for `stable_ms`; a pulse is a stable transition to
the active level, at least `min_period_ms` after the previous pulse. Contact bounce (a few
ms) and the chatter of a slow magnet at both ends of a long closure are thus one pulse.
"""

import array

from micropython import const

_SIZE = const(256)  # power of two
_MASK = const(255)


class PulseInput:
    def __init__(self, hal, cfg):
        self.id = cfg["id"]
        self._hal = hal
        self._ticks = hal.ticks_ms  # bound once: the ISR must not allocate
        self._t = array.array("i", bytes(4 * _SIZE))
        self._lv = bytearray(_SIZE)
        self._w = 0
        self._r = 0
        self.overflow = 0  # edges lost because the ring was full
        self.active = 0 if cfg["edge"] == "falling" else 1
        self.stable_ms = cfg["stable_ms"]
        self.min_period_ms = cfg["min_period_ms"]
        self.rejected = 0  # stable pulses closer than min_period_ms to the previous one
        self._stable = 1 - self.active
        self._cand_lv = -1  # level of the last edge not yet confirmed (-1: none)
        self._cand_t = 0
        self._last_t = 0
        self._have_last = False
        self._stable = hal.pulse_setup(self.id, cfg, self._isr)

    def _isr(self, pin):
        # Runs in interrupt context: no allocation, no float, no print.
        w = self._w
        nw = (w + 1) & _MASK
        if nw == self._r:
            self.overflow += 1
            return
        self._t[w] = self._ticks()
        self._lv[w] = pin.value()
        self._w = nw

    def drain(self, now_ticks, out):
        """Debounce the edges received so far; append each pulse's tick time to `out`."""
        diff = self._hal.ticks_diff
        if self._have_last and diff(now_ticks, self._last_t) > 3600000:
            self._have_last = False  # long quiet: forget before ticks_diff can wrap
        while self._r != self._w:
            r = self._r
            t = self._t[r]
            lv = self._lv[r]
            self._r = (r + 1) & _MASK
            if self._cand_lv >= 0 and diff(t, self._cand_t) >= self.stable_ms:
                self._commit(out)
            self._cand_lv = lv
            self._cand_t = t
        if self._cand_lv >= 0 and diff(now_ticks, self._cand_t) >= self.stable_ms:
            self._commit(out)
            self._cand_lv = -1

    def _commit(self, out):
        lv = self._cand_lv
        if lv == self._stable:
            return
        self._stable = lv
        if lv != self.active:
            return
        t = self._cand_t
        if self._have_last and self._hal.ticks_diff(t, self._last_t) < self.min_period_ms:
            self.rejected += 1
            return
        self._have_last = True
        self._last_t = t
        out.append(t)

    def pending(self, now_ticks):
        """Age in ms of the oldest edge still waiting for its stable period, or -1."""
        if self._r != self._w:
            return self._hal.ticks_diff(now_ticks, self._t[self._r])
        if self._cand_lv >= 0:
            return self._hal.ticks_diff(now_ticks, self._cand_t)
        return -1
