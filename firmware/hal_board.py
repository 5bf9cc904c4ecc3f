"""Board HAL (ESP32-class MCU): the only module that touches `machine`.

Interface (the simulated HAL in hal_sim.py implements the same): wall clock (`time`, `now`,
`set_time`, `rtc_trusted`), ticks (`ticks_ms`, `ticks_diff`, `ticks_add`), `sleep_ms`,
`io_ms`, `rand`, `attach`, ADC bursts, pulse inputs, supply/battery/temperature, flash
root, watchdog, reset and reset cause, links and the modem UART/power lines.
"""

import asyncio
import os
import time

import machine

# Ports whose epoch is 2000 report 30 years less than Unix time.
_EPOCH = 946684800 if time.gmtime(0)[0] == 2000 else 0
_VALID_AFTER = 1735689600  # 2025-01-01: an RTC earlier than this was never set


class BoardHal:
    def __init__(self):
        self._cfg = None
        self._adc = {}
        self._pins = {}
        self._wdt = None
        self._cause = self._read_cause()
        self.link_up = True

    # -- clock ------------------------------------------------------------------------------------
    def time(self):
        return time.time() + _EPOCH

    def now(self):
        return time.time_ns() / 1e9 + _EPOCH

    def set_time(self, t):
        y, mo, d, h, mi, s, wd, _ = time.gmtime(t - _EPOCH)
        machine.RTC().datetime((y, mo, d, wd, h, mi, s, 0))
        return True

    def rtc_trusted(self):
        # the RTC survives soft and watchdog resets and deep sleep, not a power cut
        return self._cause in ("soft", "watchdog", "deep_sleep") and self.time() > _VALID_AFTER

    ticks_ms = staticmethod(time.ticks_ms)
    ticks_diff = staticmethod(time.ticks_diff)
    ticks_add = staticmethod(time.ticks_add)

    async def sleep_ms(self, ms):
        await asyncio.sleep_ms(ms)

    def io_ms(self, ms):
        return ms

    def rand(self):
        return int.from_bytes(os.urandom(2), "big") / 65536

    def attach(self, cfg):
        self._cfg = cfg

    # -- ADC ------------------------------------------------------------------------------------
    def _adc_for(self, pin):
        a = self._adc.get(pin)
        if a is None:
            a = machine.ADC(machine.Pin(pin))
            a.atten(machine.ADC.ATTN_11DB)  # full 0..3.3 V range
            self._adc[pin] = a
        return a

    def _chan(self, ch):
        for c in self._cfg["channels"]:
            if c["id"] == ch:
                return c
        raise OSError("no channel %d" % ch)

    def adc_burst(self, ch, buf, n, period_us):
        """n samples, one every period_us (busy wait: a 200 ms burst every few seconds)."""
        read = self._adc_for(self._chan(ch)["pin"]).read_u16
        t = time.ticks_us()
        for i in range(n):
            buf[i] = read()
            t = time.ticks_add(t, period_us)
            while time.ticks_diff(t, time.ticks_us()) > 0:
                pass

    def adc_burst2(self, ch, bi, bv, n, period_us):
        c = self._chan(ch)
        ri = self._adc_for(c["pin"]).read_u16
        rv = self._adc_for(c["v_pin"]).read_u16
        t = time.ticks_us()
        for i in range(n):
            bi[i] = ri()
            bv[i] = rv()
            t = time.ticks_add(t, period_us)
            while time.ticks_diff(t, time.ticks_us()) > 0:
                pass

    # -- pulses ---------------------------------------------------------------------------------
    def pulse_setup(self, ch, cfg, handler):
        pull = {"up": machine.Pin.PULL_UP, "down": machine.Pin.PULL_DOWN}.get(cfg["pull"])
        p = machine.Pin(cfg["pin"], machine.Pin.IN, pull)
        p.irq(trigger=machine.Pin.IRQ_FALLING | machine.Pin.IRQ_RISING, handler=handler)
        self._pins[ch] = p
        return p.value()

    def pulse_poll(self, ch, until):
        return False  # edges arrive by interrupt

    # -- board sensors --------------------------------------------------------------------------
    def supply_mv(self):
        return 0  # no supply divider on the reference board

    def battery_mv(self):
        return 0

    def temp_dc(self):
        try:
            import esp32

            if hasattr(esp32, "mcu_temperature"):
                return int(esp32.mcu_temperature() * 10)
            return int((esp32.raw_temperature() - 32) / 1.8 * 10)
        except (ImportError, OSError):
            return 0

    # -- flash ----------------------------------------------------------------------------------
    def flash_root(self):
        """The board's littlefs root (mounted by MicroPython at boot); state lives in /data."""
        try:
            os.mkdir("/data")
        except OSError:
            pass
        return "/data"

    # -- watchdog and reset ---------------------------------------------------------------------
    def wdt_start(self, timeout_ms):
        self._wdt = machine.WDT(timeout=timeout_ms)

    def wdt_feed(self):
        if self._wdt is not None:
            self._wdt.feed()

    def _read_cause(self):
        c = machine.reset_cause()
        for name, cause in (("PWRON_RESET", "power_on"), ("HARD_RESET", "hard"),
                            ("WDT_RESET", "watchdog"), ("DEEPSLEEP_RESET", "deep_sleep"),
                            ("SOFT_RESET", "soft"), ("BROWNOUT_RESET", "brown_out")):
            if getattr(machine, name, None) == c:
                return cause
        return "unknown"

    def reset_cause(self):
        return self._cause

    def reset(self):
        machine.reset()

    # -- links ----------------------------------------------------------------------------------
    def open_link(self, cfg):
        if cfg["modem"]["type"] == "none":  # Wi-Fi/Ethernet set up by boot.py
            from firmware.link_socket import SocketLink

            return SocketLink(self)
        from firmware.link_modem import ModemLink

        return ModemLink(self, cfg)

    async def modem_stream(self, m):
        u = machine.UART(m["uart"], baudrate=m["baud"], tx=m["tx"], rx=m["rx"], rxbuf=2048)
        self.modem_power(True)
        return asyncio.StreamReader(u), asyncio.StreamWriter(u, {})

    def modem_power(self, on):
        """Power switch (if wired) and a PWRKEY pulse: SIM7000 toggles on >= 1 s low."""
        m = self._cfg["modem"]
        if m["power_pin"] >= 0:
            machine.Pin(m["power_pin"], machine.Pin.OUT).value(1 if on else 0)
            time.sleep_ms(200 if on else 2000)
        if on and m["pwrkey"] >= 0:
            k = machine.Pin(m["pwrkey"], machine.Pin.OUT)
            k.value(0)
            time.sleep_ms(1200)
            k.value(1)
