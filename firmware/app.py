"""The board application: wires HAL, config, flash state, meter and session; runs the tasks."""

import asyncio
import gc
import sys

FW_VERSION = (1, 1, 0)


class App:
    def __init__(self, hal, config_path):
        self.hal = hal
        self.reboot_at = None
        self._drop_reported = 0
        cfgmod = __import__("firmware.config", None, None, ["load"])
        cfg, errors, chash = cfgmod.load(config_path)
        del sys.modules["firmware.config"]
        del cfgmod
        for ch, msg in errors:
            print("CONFIG ERROR:", msg)
        self.cfg = cfg
        self.config_errors = errors
        self.config_hash = chash
        gc.collect()

    def log(self, msg):
        print("[%d] %s" % (self.hal.time(), msg))

    # -- boot -----------------------------------------------------------------------------------
    def boot(self):
        hal = self.hal
        cfg = self.cfg
        hal.attach(cfg)
        root = hal.flash_root()
        gc.collect()
        from firmware.clock import Clock
        from firmware.counter import FrameCounter
        from firmware.fqueue import FlashQueue
        from firmware.frames import FrameSink
        from firmware.state import State

        self.state = State(root + "/state")
        self.state.data["boot"] += 1
        q = cfg["queue"]
        self.queue = FlashQueue(root + "/q", q["max_kb"] * 1024, q["segment_bytes"])
        # flash full: the state and the counter reservation make room by dropping the oldest
        # queued frames (counted); a counter that cannot be reserved is never used (emit)
        self.state.room = self.queue.make_room
        self.counter = FrameCounter(root + "/ctr", self.queue.max_counter + 1,
                                    room=self.queue.make_room)
        self.sink = FrameSink(cfg["device_id"], cfg["key_bytes"], self.counter, self.queue)
        self.clock = Clock(hal, cfg["clock"]["max_drift_s"])
        self.upload = asyncio.Event()
        cause = hal.reset_cause()
        self.reset_cause = cause
        self.log("boot %d, reset cause %s, queue depth %d, dropped %d, repaired %d" % (
            self.state.data["boot"], cause, self.queue.depth, self.queue.dropped,
            self.queue.repaired))
        self._drop_reported = self.queue.dropped
        self.emit({"type": "hello", "fw": list(FW_VERSION), "config_hash": self.config_hash,
                   "reset_cause": cause, "time": hal.time(), "time_synced": self.clock.synced})
        for i in range(len(self.config_errors)):
            ch = self.config_errors[i][0]
            self.event("config_error", ch if ch is not None and ch < 255 else None, i + 1)
        kb = self.queue.clamped_kb
        if kb:  # value < 0: the queue bound in use, in KB, lowered to fit the flash
            print("CONFIG ERROR: config queue.max_kb: %d KB does not fit in the flash, "
                  "using %d KB" % (q["max_kb"], kb))
            self.event("config_error", None, -kb)
        self._apply_overrides()
        gc.collect()  # compiling a module needs contiguous blocks: start each from a clean heap
        from firmware.meter import Meter

        self.meter = Meter(hal, cfg, self.state, self.clock, self.emit, self.event)
        self.meter.upload = self.upload
        self.meter.resume(cause)
        gc.collect()
        from firmware.session import Session

        self.session = Session(self)
        self.started_ms = hal.ticks_ms()
        self._status_ms = hal.ticks_ms()
        self._power_ok = True
        gc.collect()
        start = getattr(hal, "start_clock", None)
        if start is not None:
            start()

    def _apply_overrides(self):
        cal = self.state.data["cal"]
        for c in self.cfg["channels"]:
            o = cal.get(str(c["id"]))
            if o:
                c.update(o)

    # -- frames ---------------------------------------------------------------------------------
    def emit(self, msg):
        self._seal(msg)
        self._report_drops()

    def _seal(self, msg):
        try:
            self.sink.emit(msg)
        except OSError as e:
            if e.errno != 28:
                raise
            # flash full and nothing left to drop: no counter could be reserved, the frame
            # was never sealed; it is lost, and counted as such
            self.queue.dropped += 1

    def _report_drops(self):
        """Every frame lost since the last report (overflow, full flash), as one EVENT."""
        lost = self.queue.dropped - self._drop_reported
        if lost > 0:
            self._drop_reported = self.queue.dropped
            self.log("queue full: dropped %d oldest frames" % lost)
            self._seal({"type": "event", "events": [
                {"time": self.hal.time(), "code": "queue_overflow", "channel": None,
                 "value": lost}]})
        self.upload.set()

    def event(self, code, channel, value):
        self.emit({"type": "event", "events": [
            {"time": self.hal.time(), "code": code, "channel": channel, "value": value}]})

    def status(self):
        hal = self.hal
        s = self.session
        self.emit({"type": "status", "time": hal.time(), "supply_mv": hal.supply_mv(),
                   "battery_mv": hal.battery_mv(), "csq": s.link.csq(), "temp_dc": hal.temp_dc(),
                   "uptime_s": self._uptime(), "free_heap": gc.mem_free(),
                   "queue_depth": self.queue.depth, "queue_dropped": self.queue.dropped,
                   "boot_count": self.state.data["boot"]})

    def _uptime(self):
        return int(self.hal.now() - self._boot_t)

    def clock_sync(self, server_time):
        delta = self.clock.sync(server_time)
        if delta:
            self.log("clock set by %d s" % delta)
            self.event("clock_set", None, delta)

    def commands(self, cmds):
        from firmware.commands import execute

        for c in cmds:
            execute(self, c)

    # -- supervision ----------------------------------------------------------------------------
    async def supervise(self):
        """Feed the watchdog only while the meter and the session make progress."""
        hal = self.hal
        m = self.meter
        s = self.session
        last_m = last_s = -1
        stuck_s = 0
        wd = self.cfg["watchdog_s"] * 1000
        hal.wdt_start(wd)
        status_ms = self.cfg["status_every_s"] * 1000
        pf = self.cfg["power_fail_mv"]
        while True:
            if m.beat != last_m:
                # the session may legitimately wait (backoff, idle); it must not hang in I/O
                if s.beat != last_s or not s.connected:
                    last_s = s.beat
                    stuck_s = 0
                else:
                    stuck_s += 1
                if stuck_s < 600:
                    hal.wdt_feed()
                last_m = m.beat
            now = hal.ticks_ms()
            if hal.ticks_diff(now, self._status_ms) >= status_ms:
                self._status_ms = now
                self.status()
            if pf:
                v = hal.supply_mv()
                if self._power_ok and v < pf:
                    self._power_ok = False
                    m.persist()
                    self.event("power_fail", None, v)
                elif not self._power_ok and v >= pf:
                    self._power_ok = True
                    self.event("power_restore", None, v)
            if self._drop_reported != self.queue.dropped:  # e.g. a state save made room
                self._report_drops()
            if self.reboot_at is not None and (
                    self.queue.depth == 0 or hal.ticks_diff(now, self.reboot_at) >= 0):
                m.persist()
                hal.reset()
            if getattr(hal, "stop", False):  # simulator "exit"
                return
            await hal.sleep_ms(1000)

    def stopped(self):
        """Ctrl-C stopped the app: save the registers, or the energy and pulses counted since
        the last save (up to persist_s) are lost with the reset that usually follows. The
        tool repeats Ctrl-C: one landing in a save restarts it (the write is atomic)."""
        m = getattr(self, "meter", None)
        for _ in range(5):
            try:
                if m is not None and m._dirty:
                    m.persist()
                return
            except KeyboardInterrupt:
                pass

    async def main(self):
        global current
        current = self
        self._boot_t = self.hal.now()
        self.boot()
        tasks = [asyncio.create_task(self.meter.run()), asyncio.create_task(self.session.run())]
        sim = getattr(self.hal, "report", None)
        if sim is not None:
            tasks.append(asyncio.create_task(sim(self)))
        await self.supervise()
        # simulator "exit": stop the clock and the meter, persist, let the queue drain
        tasks[0].cancel()
        self.hal.freeze_clock()
        self.meter.step()
        self.meter.persist()
        self.status()  # a last STATUS: the simulator sees the final counters
        import time

        t0 = time.ticks_ms()
        while self.queue.depth and time.ticks_diff(time.ticks_ms(), t0) < 5000:
            await asyncio.sleep_ms(20)
        print("@drained depth=%d in %d ms" % (self.queue.depth,
                                               time.ticks_diff(time.ticks_ms(), t0)))
        for t in tasks[1:]:
            t.cancel()
        await self.session._close()


current = None  # the App whose main() runs: what interrupted() saves


def interrupted():
    """Call where a KeyboardInterrupt ends the app (it may land in any task or the loop)."""
    if current is not None:
        current.stopped()


def run(hal, config_path):
    app = App(hal, config_path)
    if app.cfg is None:
        print("CONFIG ERROR: the board cannot reach its gateway; fix the config and reset")
        return app
    try:
        asyncio.run(app.main())
    except KeyboardInterrupt:
        interrupted()
        raise
    return app
