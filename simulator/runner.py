"""Run a scenario end to end: broker, upstream subscriber, real gateway, real firmware boards.

    result = run_scenario(load_scenario("simulator/scenarios/school-genova.toml"), RunOptions())

Phases: start the broker and the subscriber; configure, provision and start the gateway; run
every board (one MicroPython process each) on its virtual clock; once a board is past the end
of the period and the gateway has stored every interval it produced in the period, stop it;
wait until the subscriber has everything (or stops receiving), stop the gateway (it drains),
then compare the subscriber's readings with the boards' ground truth.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.boards import BoardProcess
from simulator.broker import Broker
from simulator.deps import check_dependencies
from simulator.fleet import SimDevice, build_fleet, channel_map
from simulator.gateway_proc import BoardRecord, GatewayProcess
from simulator.link import LinkStats
from simulator.results import RunResult, alert_summary, energy_summary, unique_readings
from simulator.scenario import Scenario, check_speed
from simulator.truth import Delivered, GroundTruth, compare
from simulator.upstream import UpstreamSubscriber

__all__ = ["Progress", "RunOptions", "run_scenario"]

Progress = Callable[[float, str], None]  # (fraction of the period done 0..1, phase text)


@dataclass
class RunOptions:
    workdir: Path | None = None          # default: a temporary directory, removed afterwards
    keep: bool = False                   # keep the work directory (logs, databases)
    speed: float | None = None           # override the scenario's speed
    broker: str = "auto"                 # "auto" | "mosquitto" | "amqtt"
    drain_timeout_s: float = 120.0       # after the period: boards and upstream must settle
    progress: Progress | None = None
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    mutate_fleet: Callable[[list[SimDevice]], None] | None = None


def run_scenario(scenario: Scenario, options: RunOptions | None = None) -> RunResult:
    options = options or RunOptions()
    check_speed(scenario, options.speed or scenario.speed)  # ScenarioError: bad options
    deps = check_dependencies()
    if deps.missing:
        return RunResult(scenario.name, len(scenario.devices), scenario.days, 0.0, None, None,
                         None, {}, [], [], None, {}, "", degraded=deps.missing)
    tmp = None
    workdir = options.workdir
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix="meterkit-sim-")
        workdir = Path(tmp)
    try:
        return asyncio.run(_Run(scenario, options, workdir, deps.micropython).run())
    finally:
        if tmp and not options.keep:
            shutil.rmtree(tmp, ignore_errors=True)


class _Run:
    def __init__(self, scenario: Scenario, options: RunOptions, workdir: Path,
                 micropython: str) -> None:
        self.s = scenario
        self.o = options
        self.workdir = workdir
        self.micropython = micropython
        self.speed = options.speed or scenario.speed
        self.t0 = scenario.start.timestamp()
        self.t1 = scenario.end.timestamp()
        self.fleet = build_fleet(scenario)
        if options.mutate_fleet:
            options.mutate_fleet(self.fleet)
        self.truth = GroundTruth()
        self.notes: list[str] = []
        self.faults: dict[str, int] = {
            "power_cuts": 0, "reboots": 0, "link_outages": 0, "gateway_crashes": 0,
            "broker_restarts": 0, "unplanned_restarts": 0, "gateway_duplicates": 0}
        self.boards: list[BoardProcess] = []

    def progress(self, fraction: float, phase: str) -> None:
        if self.o.progress:
            self.o.progress(max(0.0, min(1.0, fraction)), phase)

    async def run(self) -> RunResult:
        started = time.monotonic()
        broker = Broker(self.workdir / "broker", prefer=self.o.broker)
        broker.start()
        sub = UpstreamSubscriber("127.0.0.1", broker.port, protocol=broker.protocol)
        gw = self._gateway(broker)
        try:
            sub.start()
            gw.write_config()
            await gw.provision(BoardRecord(d.id, d.key, d.spec.site, channel_map(d))
                         for d in self.fleet)
            await asyncio.to_thread(gw.start)
            self.boards = boards = [
                BoardProcess(d, self.workdir, gw.ingest_port, self.speed, self.t0, self.t1,
                             self.truth, self.micropython, link_spec=self.s.link,
                             seed=self.s.seed, cut_mode=self.s.faults.power_cut_mode)
                for d in self.fleet]
            await self._drive(boards, gw, broker)
            link = LinkStats()
            for b in boards:
                link.add(b.link.stats)
            self.faults.update(link_refused=link.refused, link_cut=link.cut,
                               nat_dropped=link.nat_dropped, duplicates_sent=link.duplicated)
            self.progress(1.0, "upstream")
            await self._await_upstream(sub)
            await self._count_gateway_duplicates(gw)
        finally:
            gw.stop()
            await asyncio.sleep(0.5)
            sub.stop()
            broker.stop()
        return self._result(sub, gw, broker, time.monotonic() - started)

    def _gateway(self, broker: Broker) -> GatewayProcess:
        sites = {s.id: {"municipality": s.municipality, "holidays": list(s.holidays)}
                 | ({"province": s.province} if s.province else {}) for s in self.s.sites}
        mqtt = {"host": "127.0.0.1", "port": broker.port, "protocol": broker.protocol,
                "backlog_rate": 0.0, "reconnect_max_s": 2.0}
        return GatewayProcess(self.workdir / "gateway", site=self.s.sites[0].id, sites=sites,
                              mqtt=mqtt, plugins=self.o.plugins)

    async def _drive(self, boards: list[BoardProcess], gw: GatewayProcess,
                     broker: Broker) -> None:
        tasks = [asyncio.create_task(b.run(), name=f"board-{b.dev.id}") for b in boards]
        span = self.t1 - self.t0
        crash_at = [self.t0 + span * (i + 1) / (self.s.faults.gateway_crashes + 1)
                    for i in range(self.s.faults.gateway_crashes)]
        restart_at = [self.t0 + span * (i + 0.5) / max(1, self.s.faults.broker_restarts)
                      for i in range(self.s.faults.broker_restarts)]
        deadline = time.monotonic() + span / self.speed * 3 + self.o.drain_timeout_s
        while not all(t.done() for t in tasks):
            now = min(b.now() for b in boards)
            self.progress((now - self.t0) / span, "boards")
            if crash_at and now >= crash_at[0]:
                crash_at.pop(0)
                await self._crash_gateway(gw)
            if restart_at and now >= restart_at[0]:
                restart_at.pop(0)
                await asyncio.to_thread(broker.stop)
                await asyncio.to_thread(broker.start)
                self.faults["broker_restarts"] += 1
            await self._release_drained(boards, gw)
            if time.monotonic() > deadline:
                self.notes.append("boards did not settle in time; stopped")
                for b in boards:
                    b.stop_requested = True
                deadline = time.monotonic() + 60
            await asyncio.sleep(0.25)
        for t in tasks:
            if t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
        for b in boards:
            self.faults["power_cuts"] += b.stats.power_cuts
            self.faults["reboots"] += b.stats.reboots
            self.faults["link_outages"] += len(b.dev.faults.link_outages)
            self.faults["unplanned_restarts"] += b.stats.restarts
            if b.modem is not None:  # boards on the AT path: what their modems went through
                m = b.modem.stats
                for name, n in (("modem_connects", m.connects), ("modem_drops", m.drops),
                                ("modem_resets", m.resets), ("modem_unregistered",
                                                             m.unregistered),
                                ("modem_bytes_up", m.bytes_up)):
                    self.faults[name] = self.faults.get(name, 0) + n
            self.notes += [f"board {b.dev.id}: {e}" for e in b.stats.errors]

    async def _count_gateway_duplicates(self, gw: GatewayProcess) -> None:
        """Add the gateway's own count of duplicate frames (ingest stats, in memory: read
        before each crash and before the stop). SIGUSR1 makes it write status.json now."""
        if gw.proc is None or gw.proc.poll() is not None:
            return
        path = gw.workdir / "state" / "status.json"
        asked = time.time()
        gw.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                doc = {}
            if float(doc.get("time", 0.0)) >= asked:
                self.faults["gateway_duplicates"] += int(
                    doc.get("ingest", {}).get("frames_duplicate", 0))
                return
            await asyncio.sleep(0.05)
        self.notes.append("gateway status.json not refreshed: its duplicate count is missing")

    async def _crash_gateway(self, gw: GatewayProcess) -> None:
        await self._count_gateway_duplicates(gw)
        if gw.proc is not None and gw.proc.poll() is None:
            gw.proc.kill()
            await asyncio.to_thread(gw.proc.wait)
        self.faults["gateway_crashes"] += 1
        await asyncio.sleep(1.0)
        await asyncio.to_thread(gw.start)

    async def _release_drained(self, boards: list[BoardProcess], gw: GatewayProcess) -> None:
        """Stop boards past the period whose in-period intervals are all in the gateway DB."""
        ready = [b for b in boards if not b.stop_requested and b.final_segment
                 and b.now() >= b.settled]
        if not ready:
            return
        want: dict[str, int] = {}
        for dev, _ch, _start in self.truth.within(self.t1).registers:
            want[dev] = want.get(dev, 0) + 1
        rows = await asyncio.to_thread(
            gw.query, "SELECT device_id, COUNT(*) FROM readings WHERE interval_start + "
            "interval_s <= ? GROUP BY device_id", (int(self.t1),))
        stored = dict(rows)
        for b in ready:
            if stored.get(b.dev.id, 0) >= want.get(b.dev.id, 0):
                b.stop_requested = True

    async def _await_upstream(self, sub: UpstreamSubscriber) -> None:
        wanted = set(self.truth.within(self.t1).registers)
        deadline = time.monotonic() + self.o.drain_timeout_s
        while time.monotonic() < deadline:
            got = {Delivered.key_of(m) for m in sub.snapshot()[0]}
            if wanted <= got and time.monotonic() - sub.last_message > 1.0:
                return
            await asyncio.sleep(0.25)
        self.notes.append(f"upstream still incomplete after {self.o.drain_timeout_s:.0f} s")

    def _result(self, sub: UpstreamSubscriber, gw: GatewayProcess, broker: Broker,
                wall: float) -> RunResult:
        msgs, alerts, results = sub.snapshot()
        in_period = [m for m in msgs
                     if Delivered.key_of(m)[2] + int(m.get("length_s", 900)) <= self.t1]
        comparison = compare(self.truth.within(self.t1), in_period)
        (self.workdir / "comparison.json").write_text(json.dumps(
            {**comparison.as_dict(), "lost": comparison.lost, "invented": comparison.invented,
             "altered": comparison.altered, "truth_conflicts": comparison.conflicts,
             "notes": self.notes}, indent=1))
        stored = gw.query("SELECT COUNT(*) FROM readings WHERE interval_start + interval_s "
                          "<= ?", (int(self.t1),))[0][0]
        normalised = gw.query("SELECT COUNT(*) FROM series WHERE interval_start + interval_s "
                              "<= ?", (int(self.t1),))[0][0] if gw.table_exists("series") else None
        unique = unique_readings(in_period)
        failed = gw.plugin_failures()
        self.notes += failed
        plugin_results = [{"topic": t, **d} for t, d in results]
        return RunResult(self.s.name, len(self.fleet), self.s.days, wall, comparison, stored,
                         normalised, energy_summary(unique),
                         [alert_summary(a) for a in alerts]
                         if "alerts" in self.o.plugins and not any(
                             "alerts" in f for f in failed) else None, plugin_results, None,
                         self.faults, broker.kind, notes=self.notes, readings=unique,
                         boards={b.dev.id: {"cuts": [list(c) for c in b.stats.cuts],
                                            "clock_speed": b.stats.clock_speed,
                                            "clock_drift_ppm": b.dev.faults.clock_drift_ppm,
                                            "modem": "at" if b.modem is not None else "tcp"}
                                 for b in self.boards})
