"""Simulated HAL for the unix port: accelerated clock, ADC and pulse input fed by the sim feed,
littlefs on a file-backed block device, watchdog and reset emulation, TCP links.

The sim feed (docs/FIRMWARE.md, "Sim feed protocol") is a text file or a TCP stream of lines
`<when> <command> [args]`; each line takes effect once the simulated clock reaches `when`.
"""

import asyncio
import math
import os
import random
import sys
import time

import vfs

_TMASK = (1 << 30) - 1  # ESP32 ticks period: the firmware must survive the wrap
_THALF = 1 << 29
EXIT_REBOOT = 75
EXIT_WATCHDOG = 76


class _Pin:
    __slots__ = ("level",)

    def __init__(self, level):
        self.level = level

    def value(self):
        return self.level


class SimHal:
    def __init__(self, state_dir, speed=1.0, start=None, feed=None, follow_server_time=None,
                 clock_synced=False, flash_kb=512, link="socket", modem=None, ticks_start=None):
        self.state_dir = state_dir
        self.speed = float(speed)
        if start is None:
            start = int(time.time())
        self._ms0 = start * 1000
        self._base = self._ms0  # sim ms (before corrections) at _real0
        self._off = 0
        self._real0 = None  # the clock stands still until start_clock() (end of boot)
        self._frozen = None
        self._edge_ms = None
        self._tick0 = (_TMASK - 60000) if ticks_start is None else ticks_start
        self.follow = (self.speed == 1.0) if follow_server_time is None else follow_server_time
        self._synced = clock_synced
        self.flash_kb = flash_kb
        self.link_kind = link
        self.modem_addr = modem
        self.link_up = True
        self.link_epoch = 0  # bumped by "link drop"/"link down": open links must close
        self.supply = 5000
        self.battery = 0
        self.temp = 250
        self.csq_v = 99
        self.stop = False
        self.stop_at = None  # sim ms at which the run ends (--run-for)
        self.chan_cfg = {}
        self._ct = {}
        self._gens = {}
        self._next = {}
        self._pins = {}
        self._isr = {}
        self.idle_level = {}  # ch -> level a miswired input rests at (default: the edge's idle)
        self._wdt_ms = 0
        self._wdt_last = 0
        self.bd = None
        self._feed = None
        if feed:
            from firmware.simfeed import SimFeed

            self._feed = SimFeed(feed, self._ms0)

    # -- clock ----------------------------------------------------------------------------------
    def start_clock(self):
        self._real0 = time.ticks_us()
        self._announce()

    def _announce(self):
        """Tell the simulator how this clock runs: sim ms = A + (CLOCK_MONOTONIC us - B) x S
        / 1000 (`@clock A B S`), so it can tell the board's time at any instant, e.g. the one
        at which it cuts the power (ticks_us is CLOCK_MONOTONIC on the unix port)."""
        if self._real0 is not None:
            print("@clock %d %d %r" % (self._base + self._off, self._real0, self.speed))

    def set_speed(self, speed):
        """Change the acceleration from now on (feed command `speed`)."""
        if self._real0 is not None:
            t = self._sim_ms() - self._off
            self._real0 = time.ticks_us()
            self._base = t
        self.speed = float(speed)
        self._announce()

    def freeze_clock(self):
        """Stop simulated time (the simulator's "exit": drain without producing more)."""
        self._frozen = self._sim_ms()

    def _sim_ms(self):
        if self._edge_ms is not None:
            return self._edge_ms
        if self._frozen is not None:
            return self._frozen
        if self._real0 is None:
            return self._base + self._off
        el = time.ticks_diff(time.ticks_us(), self._real0)
        t = self._base + self._off + int(el * self.speed) // 1000
        if self.stop_at is not None and t >= self.stop_at:
            self.stop = True  # --run-for: time ends exactly there
            self._frozen = t = self.stop_at
        return t

    def time(self):
        return self._sim_ms() // 1000

    def now(self):
        return self._sim_ms() / 1000

    def ticks_ms(self):
        return (self._sim_ms() - self._ms0 - self._off + self._tick0) & _TMASK

    def ticks_diff(self, a, b):
        return ((a - b + _THALF) & _TMASK) - _THALF

    def ticks_add(self, a, d):
        return (a + d) & _TMASK

    def set_time(self, t):
        if not self.follow:
            return False
        self._off += t * 1000 - self._sim_ms()
        self._announce()
        return True

    def rtc_trusted(self):
        return self._synced

    async def sleep_ms(self, ms):
        self._pump()
        await asyncio.sleep_ms(int(ms / self.speed))

    def io_ms(self, ms):
        """Real milliseconds to wait for I/O that takes `ms` on a board (at least 2 s)."""
        return max(int(ms / self.speed), min(ms, 2000))

    def rand(self):
        return random.random()

    # -- feed ----------------------------------------------------------------------------------
    def _pump(self):
        if self._feed is not None:
            self._feed.pump(self._sim_ms(), self._apply)

    def _apply(self, at, args):
        cmd = args[0]
        pos = [a for a in args[1:] if "=" not in a]
        kw = {}
        for a in args[1:]:
            if "=" in a:
                k, v = a.split("=", 1)
                kw[k] = v
        if cmd == "ct":
            ch = int(pos[0])
            if "samples" in kw:
                self._ct[ch] = ("samples", [int(x) for x in kw["samples"].split(",")], [0])
            else:
                self._ct[ch] = ("rms", dict((k, float(v)) for k, v in kw.items()), None)
        elif cmd in ("pulses", "flow"):
            ch = int(pos[0])
            cfg = self.chan_cfg.get(ch, {})
            active = 1 if cfg.get("edge") == "rising" else 0
            if cmd == "flow":
                lph = float(kw.get("lph", "0"))
                if lph <= 0:
                    self._gens.pop(ch, None)
                    self._next.pop(ch, None)
                    return
                period = 3600000.0 * cfg.get("litres_per_pulse", 10.0) / lph
                n = -1
            else:
                period = float(kw.get("period_ms", "1000"))
                n = int(kw.get("n", "1"))
            width = float(kw.get("width_ms", str(min(period / 2, 1000.0))))
            from firmware.simfeed import train

            g = train(at, n, period, width, int(kw.get("bounce", "0")),
                       float(kw.get("bounce_ms", "2")), int(kw.get("release_bounce", "0")),
                       active)
            self._gens[ch] = g
            self._next[ch] = next(g)
        elif cmd == "edge":
            ch = int(pos[0])
            self._inject(ch, at, int(kw.get("level", pos[1] if len(pos) > 1 else "0")))
        elif cmd == "link":
            what = pos[0]
            if what == "down":
                self.link_up = False
                self.link_epoch += 1
            elif what == "up":
                self.link_up = True
            elif what == "drop":
                self.link_epoch += 1
        elif cmd == "supply":
            self.supply = int(kw.get("mv", pos[0] if pos else "5000"))
        elif cmd == "battery":
            self.battery = int(kw.get("mv", pos[0] if pos else "0"))
        elif cmd == "temp":
            self.temp = int(kw.get("dc", pos[0] if pos else "250"))
        elif cmd == "csq":
            self.csq_v = int(kw.get("v", pos[0] if pos else "99"))
        elif cmd == "speed":
            self.set_speed(float(kw.get("x", pos[0] if pos else "1")))
        elif cmd == "exit":
            self.stop = True
        elif cmd == "cut":
            # a scripted cut for firmware tests; simulation runs cut harder, with SIGKILL from
            # simulator/boards.py at any instant, not only where the HAL reads its feed
            print("@cut power at", self.time())
            sys.exit(0)

    # -- app wiring -----------------------------------------------------------------------------
    def attach(self, cfg):
        for c in cfg["channels"]:
            self.chan_cfg[c["id"]] = c

    # -- ADC ------------------------------------------------------------------------------------
    def adc_burst(self, ch, buf, n, period_us):
        self._pump()
        src = self._ct.get(ch)
        if src is None:
            for i in range(n):
                buf[i] = 32768 + (i & 1)  # idle input: mid-rail with 1 LSB of noise
            return
        kind, p, state = src
        if kind == "samples":
            vals = p
            k = state[0]
            m = len(vals)
            for i in range(n):
                buf[i] = vals[(k + i) % m]
            state[0] = (k + n) % m
            return
        c = self.chan_cfg.get(ch, {})
        amps_per_volt = c.get("ct_ratio", 2000) / c.get("burden_ohm", 33.0)
        vref = c.get("adc_vref_v", 3.3)
        peak = p.get("rms", 0.0) * math.sqrt(2) / amps_per_volt / vref * 65535
        hz = p.get("hz", c.get("mains_hz", 50))
        off = p.get("offset", 32768.0)
        noise = p.get("noise", 0.0) * math.sqrt(3)  # uniform noise with that std deviation
        h3 = p.get("h3", 0.0)
        h5 = p.get("h5", 0.0)
        ph = random.random() * 6.283185307179586
        w = 6.283185307179586 * hz * period_us / 1e6
        for i in range(n):
            a = w * i + ph
            x = off + peak * (math.sin(a) + h3 * math.sin(3 * a) + h5 * math.sin(5 * a))
            if noise:
                x += (2 * random.random() - 1) * noise
            x = int(x + 0.5)
            buf[i] = 0 if x < 0 else (65535 if x > 65535 else x)

    def adc_burst2(self, ch, bi, bv, n, period_us):
        self.adc_burst(ch, bi, n, period_us)
        for i in range(n):
            bv[i] = 32768

    # -- pulses ---------------------------------------------------------------------------------
    def pulse_setup(self, ch, cfg, handler):
        self.chan_cfg[ch] = cfg
        idle = self.idle_level.get(ch, 1 if cfg["edge"] == "falling" else 0)
        self._pins[ch] = _Pin(idle)
        self._isr[ch] = handler
        return idle

    def _inject(self, ch, at_ms, level):
        pin = self._pins.get(ch)
        if pin is None:
            return
        pin.level = level
        self._edge_ms = int(at_ms)
        try:
            self._isr[ch](pin)
        finally:
            self._edge_ms = None

    def pulse_poll(self, ch, until):
        """Deliver due edges, at most 128 per call (ring of 256); True if more are due."""
        self._pump()
        now = min(self._sim_ms(), int(until * 1000))  # edges up to the meter pass's time
        nxt = self._next.get(ch)
        k = 0
        while nxt is not None and nxt[0] <= now and k < 128:
            self._inject(ch, nxt[0], nxt[1])
            k += 1
            try:
                nxt = next(self._gens[ch])
            except StopIteration:
                nxt = None
        if nxt is None:
            self._next.pop(ch, None)
            self._gens.pop(ch, None)
            return False
        self._next[ch] = nxt
        return nxt[0] <= now  # more edges are due: drain, then call again

    # -- board sensors --------------------------------------------------------------------------
    def supply_mv(self):
        return self.supply

    def battery_mv(self):
        return self.battery

    def temp_dc(self):
        return self.temp

    def free_heap(self):
        import gc

        return gc.mem_free()

    # -- flash ----------------------------------------------------------------------------------
    def flash_root(self):
        from firmware.blockdev import BlockDev

        self.bd = BlockDev(4096, self.flash_kb // 4, path=self.state_dir + "/flash.img")
        try:
            fs = vfs.VfsLfs2(self.bd, readsize=256, progsize=256, lookahead=256)
        except OSError:
            print("flash: no filesystem, formatting")
            vfs.VfsLfs2.mkfs(self.bd)
            fs = vfs.VfsLfs2(self.bd, readsize=256, progsize=256, lookahead=256)
        vfs.mount(fs, "/flash")
        return "/flash"

    # -- watchdog and reset ---------------------------------------------------------------------
    def wdt_start(self, timeout_ms):
        self._wdt_ms = timeout_ms
        self._wdt_last = time.ticks_ms()
        asyncio.create_task(self._wdt_watch())

    def wdt_feed(self):
        self._wdt_last = time.ticks_ms()

    async def _wdt_watch(self):
        while True:
            await asyncio.sleep_ms(200)
            if time.ticks_diff(time.ticks_ms(), self._wdt_last) > self._wdt_ms:
                print("@watchdog reset")
                self._set_cause("watchdog")
                sys.exit(EXIT_WATCHDOG)

    def _set_cause(self, cause):
        with open(self.state_dir + "/reset_cause", "w") as f:
            f.write(cause)

    def reset_cause(self):
        p = self.state_dir + "/reset_cause"
        try:
            with open(p) as f:
                cause = f.read().strip()
            os.remove(p)
            return cause
        except OSError:
            return "power_on"

    def reset(self):
        print("@reboot")
        self._set_cause("soft")
        sys.exit(EXIT_REBOOT)

    # -- links ----------------------------------------------------------------------------------
    def open_link(self, cfg):
        if self.modem_addr:
            from firmware.link_modem import ModemLink

            return ModemLink(self, cfg)
        from firmware.link_socket import SocketLink

        return SocketLink(self)

    async def modem_stream(self, cfg):
        """The modem's UART: a TCP connection to simulator/modem.py."""
        host, port = self.modem_addr.rsplit(":", 1)
        return await asyncio.open_connection(host, int(port))

    def modem_power(self, on):
        pass  # the simulated modem is reset with AT+CFUN=1,1 by the driver instead
