"""CT-clamp channel: sample a burst over whole mains cycles, remove the DC offset, Irms, power.

Irms = counts_rms * vref / 65535 * ct_ratio / burden_ohm * gain. Power comes from the nominal
voltage and power factor, or from a voltage channel (mean of v*i) when one is configured.
Energy is integrated with the trapezoid rule between bursts, split at interval boundaries.
"""

import array
import math

_FULL = 65535


class CtChannel:
    def __init__(self, hal, cfg):
        self.id = cfg["id"]
        self._hal = hal
        self.n = cfg["samples_per_cycle"] * cfg["cycles"]
        self.period_us = 1000000 // (cfg["mains_hz"] * cfg["samples_per_cycle"])
        self._buf = array.array("H", bytes(2 * self.n))
        self._vbuf = array.array("H", bytes(2 * self.n)) if "v_pin" in cfg else None
        self.vref = cfg["adc_vref_v"]
        self.calibrate(cfg)
        self.irms = 0.0
        self.vrms = 0.0
        self.power_w = 0.0
        self.fault = False

    def calibrate(self, cfg):
        self.amps_per_volt = cfg["ct_ratio"] / cfg["burden_ohm"] * cfg.get("gain", 1.0)
        self.nominal_v = cfg["nominal_v"]
        self.pf = cfg["pf"]
        self.volts_per_volt = cfg.get("v_ratio", 0.0)

    def _stats(self, buf):
        """(mean square of the AC part in counts^2, min, max) of one burst."""
        n = self.n
        s = 0
        lo = _FULL
        hi = 0
        for x in buf:
            s += x
            if x < lo:
                lo = x
            if x > hi:
                hi = x
        m = s // n
        # Deviations are scaled by 1/4 so 8 squares stay small ints on a 32-bit port; the
        # variance formula below removes the (constant) rounding bias of the shift.
        acc = 0.0
        part = 0
        sd = 0
        for i in range(n):
            d = (buf[i] - m) >> 2
            sd += d
            part += d * d
            if i & 7 == 7:
                acc += part
                part = 0
        acc += part
        md = sd / n
        return (acc / n - md * md) * 16.0, lo, hi

    def burst(self):
        """Take one burst; update irms / power_w / fault. Returns power in watts."""
        hal = self._hal
        if self._vbuf is None:
            hal.adc_burst(self.id, self._buf, self.n, self.period_us)
        else:
            hal.adc_burst2(self.id, self._buf, self._vbuf, self.n, self.period_us)
        ms, lo, hi = self._stats(self._buf)
        # stuck input (no noise at all) or clipping at either rail: the reading is unsafe
        self.fault = hi == lo or lo == 0 or hi == _FULL
        scale = self.vref / _FULL
        self.irms = math.sqrt(ms if ms > 0 else 0.0) * scale * self.amps_per_volt
        if self._vbuf is None:
            self.vrms = float(self.nominal_v)
            self.power_w = self.nominal_v * self.irms * self.pf
        else:
            self.power_w = self._real_power(scale)
        return self.power_w

    def _real_power(self, scale):
        n = self.n
        bi = self._buf
        bv = self._vbuf
        mi = sum(bi) / n
        mv = sum(bv) / n
        p = 0.0
        vv = 0.0
        for k in range(n):
            dv = bv[k] - mv
            p += dv * (bi[k] - mi)
            vv += dv * dv
        self.vrms = math.sqrt(vv / n) * scale * self.volts_per_volt
        return p / n * scale * scale * self.volts_per_volt * self.amps_per_volt
