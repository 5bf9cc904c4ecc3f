"""Run a board on the MicroPython unix port against the simulator (see docs/FIRMWARE.md).

micropython firmware/main_sim.py --config cfg.json --state-dir DIR [--gateway HOST:PORT]
    [--clock-speed N] [--start UNIX_S] [--feed FILE|tcp:HOST:PORT] [--modem HOST:PORT]
    [--run-for SIM_S] [--flash-kb 512] [--clock-synced] [--follow-server-time 0|1]
    [--report-every SIM_S]
"""

import sys

# MICROPYPATH may not hold the repo root when started from it: add it.
if "" not in sys.path:
    sys.path.insert(0, "")


def _args(argv):
    opts = {}
    i = 1
    flags = ("--clock-synced",)
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--"):
            raise SystemExit("unexpected argument %r" % a)
        if a in flags:
            opts[a[2:]] = "1"
            i += 1
            continue
        if i + 1 >= len(argv):
            raise SystemExit("%s needs a value" % a)
        opts[a[2:]] = argv[i + 1]
        i += 2
    return opts


async def _report(hal, app, every_s, until):
    """Print machine-readable lines for the test harness and the simulator: '@stat {...}'."""
    import gc
    import json

    import micropython

    next_t = hal.time() + every_s
    while True:
        t = hal.time()
        if t >= next_t:
            next_t += every_s
            gc.collect()
            q = app.queue
            print("@stat " + json.dumps({
                "time": t, "alloc": gc.mem_alloc(), "free": gc.mem_free(),
                "peak": micropython.mem_peak(), "depth": q.depth, "dropped": q.dropped,
                "frames": app.sink.frames, "bytes": app.sink.bytes,
                "state_writes": app.state.writes, "flash_writes": hal.bd.writes,
                "flash_prog_bytes": hal.bd.prog_bytes, "flash_erases": hal.bd.erases,
                "queue_bytes": q.used_bytes(), "acks": app.session.acks,
                "connects": app.session.connects, "fails": app.session.fails}))
        await hal.sleep_ms(1000)


def main():
    o = _args(sys.argv)
    if "config" not in o or "state-dir" not in o:
        print(__doc__)
        raise SystemExit(2)
    from firmware.hal_sim import SimHal

    follow = o.get("follow-server-time")
    hal = SimHal(o["state-dir"], speed=float(o.get("clock-speed", "1")),
                 start=int(o["start"]) if "start" in o else None, feed=o.get("feed"),
                 follow_server_time=None if follow is None else follow == "1",
                 clock_synced="clock-synced" in o, flash_kb=int(o.get("flash-kb", "512")),
                 modem=o.get("modem"))
    from firmware import app as appmod

    a = appmod.App(hal, o["config"])
    if a.cfg is None:
        print("CONFIG ERROR: the board cannot reach its gateway; fix the config")
        raise SystemExit(2)
    if "gateway" in o:
        host, port = o["gateway"].rsplit(":", 1)
        a.cfg["gateway"]["host"] = host
        a.cfg["gateway"]["port"] = int(port)
    every = int(o.get("report-every", "86400"))
    until = None
    if "run-for" in o:
        until = (int(o["start"]) if "start" in o else hal.time()) + int(o["run-for"])
        hal.stop_at = until * 1000

    def report(app):
        return _report(hal, app, every, until)

    hal.report = report
    import asyncio

    asyncio.run(a.main())
    # what was loaded: tests weigh the same modules in a fresh heap to split code from data
    print("@modules " + " ".join(sorted(m for m in sys.modules if m.split(".")[0] in (
        "asyncio", "firmware", "protocol"))))
    print("@exit")


main()
