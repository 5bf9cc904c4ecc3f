"""One simulated board as a MicroPython process, fed over TCP, restarted after power cuts.

A board's life is split into segments by its fault plan: each power cut ends a process, with
power_cut_mode "kill" by SIGKILL when the board's clock reaches the planned instant (wherever
the firmware is: in a flash write, between two of them, inside a `finally`, as real power loss
would), with "feed" by the HAL's exit at the feed's `cut` line; and the next
segment starts a new process on the same flash image at the cut's end; a reboot is a cut of
zero length with the reset cause set to "watchdog". The HAL announces how its clock runs
(`@clock`), so the board's time at any instant, and at the kill, is known exactly.

Each board reaches the gateway through its own link proxy (simulator/link.py: latency, loss,
NAT, duplicates), directly over TCP or, with the device option `modem = "at"`, through a
simulated SIM7000 (simulator/modem.py) driven by the firmware's real AT driver; link outages
and drops then become registration loss and closed sockets at the modem. The feed server
streams sim-feed lines ahead of the board's virtual clock; the board's stdout carries the
ground-truth tap (`@truth`) and stats (`@stat`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from simulator.board_config import board_config
from simulator.feed import FeedParams, feed_lines
from simulator.fleet import SimDevice
from simulator.link import LinkProxy
from simulator.models.faults import LinkSpec
from simulator.models.noise import derive_seed
from simulator.modem import SimModem
from simulator.truth import GroundTruth

__all__ = ["BoardProcess", "BoardStats"]

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "simulator" / "board_main.py"
MAX_RESTARTS = 20


@dataclass
class BoardStats:
    segments: int = 0
    power_cuts: int = 0
    reboots: int = 0
    restarts: int = 0               # unplanned: firmware reboot/watchdog, stalled process
    truth_lines: int = 0
    # (planned cut, board time at the kill, board time of the restart) per power cut/reboot
    cuts: list[tuple[float, float, float]] = field(default_factory=list)
    clock_speed: float = 0.0        # as the HAL announced it (`@clock`): drift included
    last_depth: int | None = None
    last_stat_time: int = 0
    exit_codes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class BoardProcess:
    """Runs one board from `t_start` until, past `t_end`, the runner has seen every interval
    it produced in the period stored by the gateway (`stop_requested`)."""

    dev: SimDevice
    workdir: Path
    gateway_port: int
    speed: float
    t_start: float
    t_end: float
    truth: GroundTruth
    micropython: str
    link_spec: LinkSpec = field(default_factory=LinkSpec)
    seed: int = 0
    cut_mode: str = "kill"            # FaultSpec.power_cut_mode: "kill" or "feed"
    params: FeedParams = field(default_factory=FeedParams)
    heapsize: str = "4m"
    stats: BoardStats = field(default_factory=BoardStats)

    def __post_init__(self) -> None:
        self.dir = self.workdir / f"board-{self.dev.id}"
        self.state_dir = self.dir / "state"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "config.json"
        self.link = LinkProxy(self.gateway_port, self.link_spec, self.speed,
                              derive_seed(self.seed, self.dev.id), key=self.dev.key,
                              clock=self.now, duplicate_at=list(self.dev.faults.duplicates))
        self.at_modem = self.dev.spec.options.get("modem") == "at"
        self.hard_cuts = self.cut_mode == "kill"
        self.modem: SimModem | None = None
        self._seg_start = self.t_start
        self.stop_requested = False  # set by the runner once the gateway stored everything
        self.settled = self.t_end + 120  # by then every interval of the period is closed
        self.final_segment = False
        # a drifting RTC: the board's clock runs this much faster (ppm > 0) than true time
        self.clock_speed = self.speed * (1.0 + self.dev.faults.clock_drift_ppm * 1e-6)
        self._cut_seen: float | None = None
        self._anchor: tuple[float, float] | None = None  # (board time, monotonic when seen)
        self._clock: tuple[float, float, float] | None = None  # HAL's `@clock` (ms, us, speed)
        self._last_time = self.t_start       # latest board time seen in its output
        self._last_output = 0.0
        self._outcome = ""
        self._channel_names = {ch.index: ch.name for ch in self.dev.channels}

    # -- virtual clock estimate ----------------------------------------------------------------
    def now(self) -> float:
        """The board's virtual time. Exact once the HAL announced its clock (`@clock`: the
        HAL's own formula on the same CLOCK_MONOTONIC); else its last reported time advanced
        by wall time x speed; before any report (booting: the clock stands still), the
        segment start."""
        if self._clock is not None:
            base_ms, real0_us, speed = self._clock
            return (base_ms + (time.monotonic_ns() // 1000 - real0_us) * speed / 1000) / 1000
        if self._anchor is None:
            return self._seg_start
        board_t, at = self._anchor
        return board_t + (time.monotonic() - at) * self.clock_speed

    def _cuts(self) -> list[tuple[float, float, str]]:
        """(cut time, restart time, reset cause) in order, inside the run."""
        cuts = [(w.start, w.end, "power_on") for w in self.dev.faults.power_cuts]
        cuts += [(t, t, "watchdog") for t in self.dev.faults.reboots]
        return sorted(c for c in cuts if self.t_start < c[0] < self.t_end)

    # -- run ------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Segments until the board exits after the period; planned cuts and reboots between
        them, unplanned ends (firmware reboot, watchdog, a stalled process) restart at once."""
        port = await self.link.start()
        self.config_path.write_text(json.dumps(board_config(self.dev, port)))
        network = None
        if self.at_modem:
            self.modem = SimModem(("127.0.0.1", port))
            self._modem_port = await self.modem.start()
            network = asyncio.create_task(self._network(self.modem),
                                          name=f"network-{self.dev.id}")
        try:
            await self._segments()
        except Exception as exc:  # reported in the run result, never swallowed silently
            self.stats.errors.append(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if network is not None:
                network.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await network
            if self.modem is not None:
                await self.modem.close()
            await self.link.close()

    async def _segments(self) -> None:
        cuts = self._cuts()
        seg_start = self.t_start
        while True:
            while cuts and cuts[0][0] <= seg_start:
                cuts.pop(0)  # overlapping faults: already off
            cut = cuts[0] if cuts else None
            self.final_segment = cut is None
            outcome = await self._segment(seg_start, cut[0] if cut else None)
            if outcome == "exit":
                return
            if outcome == "cut" and cut is not None and self._cut_seen is not None:
                cuts.pop(0)
                if cut[2] == "watchdog":
                    self.stats.reboots += 1
                    (self.state_dir / "reset_cause").write_text("watchdog")
                else:
                    self.stats.power_cuts += 1
                # the kill lands a little after the planned instant: keep the planned off
                # time, counted from the kill; whole seconds up, so the clock never goes back
                seg_start = math.ceil(max(cut[1], self._cut_seen + (cut[1] - cut[0])))
                self.stats.cuts.append((cut[0], self._cut_seen, float(seg_start)))
                continue
            self.stats.restarts += 1
            if self.stats.restarts > MAX_RESTARTS:
                raise RuntimeError(f"board {self.dev.id}: {self.stats.restarts} unplanned "
                                   f"restarts, last outcome {outcome}; see {self.dir}")
            seg_start = math.ceil(max(seg_start, self._last_time, self.now()))

    async def _network(self, modem: SimModem) -> None:
        """The modem's view of the link fault plan, on the board's clock: coverage lost for
        the outages, the data connection closed at each planned drop."""
        plan = self.dev.faults
        drops = sorted(plan.link_drops)
        while True:
            t = self.now()
            await modem.set_network(plan.link_up(t))
            while drops and drops[0] <= t:
                drops.pop(0)
                await modem.drop_data()
            await asyncio.sleep(0.02)

    async def _segment(self, seg_start: float, cut_at: float | None) -> str:
        """One process lifetime; returns "exit", "cut", "stalled" or "exit code N"."""
        self.stats.segments += 1
        self._cut_seen = None
        self._anchor = None
        self._clock = None
        self._outcome = ""
        connected = asyncio.Event()
        writer_box: list[asyncio.StreamWriter] = []

        async def on_feed(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            writer_box.append(w)
            connected.set()

        server = await asyncio.start_server(on_feed, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        env = dict(os.environ, MICROPYPATH=f"{REPO}:.frozen")
        modem = ["--modem", f"127.0.0.1:{self._modem_port}"] if self.modem is not None else []
        # unbuffered: a copy of the log taken while a board hangs shows its last lines
        log = (self.dir / "board.log").open("ab", buffering=0)
        proc = await asyncio.create_subprocess_exec(
            self.micropython, "-X", f"heapsize={self.heapsize}", str(LAUNCHER),
            "--config", str(self.config_path), "--state-dir", str(self.state_dir),
            "--clock-speed", repr(self.clock_speed), "--start", str(int(seg_start)),
            "--feed", f"tcp:127.0.0.1:{port}", "--clock-synced",
            "--report-every", str(self._report_every()), *modem,
            stdout=asyncio.subprocess.PIPE, stderr=log, cwd=REPO, env=env)
        self._seg_start = float(int(seg_start))
        self._last_output = time.monotonic()
        reader = asyncio.create_task(self._read_stdout(proc, log))
        feeder = killer = None
        try:
            await asyncio.wait_for(connected.wait(), 30)
            feeder = asyncio.create_task(self._feed(writer_box[0], seg_start, cut_at))
            if cut_at is not None and self.hard_cuts:
                killer = asyncio.create_task(self._kill_at(proc, cut_at))
            await self._wait_or_stall(proc)
        finally:
            for task in (feeder, killer):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                        await task
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await reader
            for w in writer_box:
                w.close()
            server.close()
            log.close()
        self.stats.exit_codes.append(proc.returncode or 0)
        return self._outcome or f"exit code {proc.returncode}"

    async def _kill_at(self, proc: asyncio.subprocess.Process, cut_at: float) -> None:
        """Power cut: SIGKILL once the board's clock reaches `cut_at`, wherever the firmware
        is at that instant. Waits for the exact clock (`@clock`) first: a board still booting
        has a standing clock and is cut as soon as it runs."""
        while True:
            if self._clock is not None:
                left = (cut_at - self.now()) / self.clock_speed
                if left <= 0:
                    break
                await asyncio.sleep(min(left, 0.5))
            else:
                await asyncio.sleep(0.005)
        if proc.returncode is not None:
            return
        proc.kill()
        self._cut_seen = self.now()  # just after the signal: the board cannot be later
        self._outcome = "cut"
        msg = f"@cut power (SIGKILL) at {self._cut_seen:.3f}, planned {cut_at:.0f}\n"
        with contextlib.suppress(OSError):
            (self.dir / "board.log").open("ab").write(msg.encode())

    async def _wait_or_stall(self, proc: asyncio.subprocess.Process) -> None:
        """Wait for the process; kill it (like a power cut) if it prints nothing for too long."""
        limit = max(20.0, 5.0 * self._report_every() / self.speed)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 1.0)
                return
            if time.monotonic() - self._last_output > limit:
                self.stats.errors.append(f"stalled: no output for {limit:.0f} s after board "
                                         f"time {self._last_time:.0f}; killed and restarted")
                self._outcome = "stalled"
                proc.send_signal(signal.SIGINT)  # MicroPython prints where it was, if it can
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 2.0)
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                return

    def _report_every(self) -> int:
        return int(max(300, min(3600, self.speed * 0.25)))

    async def _feed(self, w: asyncio.StreamWriter, seg_start: float,
                    cut_at: float | None) -> None:
        """Stream lines ahead of the board clock; after t_end, `exit` once the queue is empty."""
        ahead = max(120.0, self.speed * 0.15)
        horizon = seg_start
        lines = feed_lines(self.dev, seg_start, float("inf"), self.params, cut_at=cut_at,
                           drift_origin=self.t_start)
        pending: str | None = None
        while True:
            target = self.now() + ahead
            while True:
                if pending is None:
                    pending = next(lines, None)
                    if pending is None:
                        break
                stamp, command = pending.split(" ", 1)
                if command == "cut" and self.hard_cuts:  # cut harder than that: _kill_at
                    pending = None
                    continue
                if stamp != "now" and float(stamp) > target:
                    horizon = float(stamp)
                    break
                w.write(pending.encode() + b"\n")
                pending = None
            await w.drain()
            if self._may_exit(horizon):
                w.write(b"now link up\nnow exit\n")
                await w.drain()
                return
            await asyncio.sleep(0.05)

    def _may_exit(self, horizon: float) -> bool:
        """After the period, once the runner saw every interval of the period stored."""
        return self.stop_requested and horizon >= self.settled

    async def _read_stdout(self, proc: asyncio.subprocess.Process, log: object) -> None:
        assert proc.stdout is not None  # created with PIPE
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                return
            self._last_output = time.monotonic()
            if not raw.endswith(b"\n"):  # torn by a SIGKILL: a truncated register is no truth
                log.write(b"(torn line) " + raw + b"\n")  # type: ignore[attr-defined]
                continue
            line = raw.decode(errors="replace").rstrip()
            if line == "@exit":
                self._outcome = "exit"
            elif line.startswith("@cut power at "):  # power_cut_mode "feed": the HAL exits
                self._outcome = "cut"
                self._cut_seen = float(line.rsplit(" ", 1)[1])
            elif line.startswith("@clock "):
                _tag, base_ms, real0_us, speed = line.split(" ")
                self._clock = (float(base_ms), float(real0_us), float(speed))
                self.stats.clock_speed = float(speed)
            if line.startswith("@truth "):
                _tag, ch, start, length, regs = line.split(" ")
                name = self._channel_names.get(int(ch), ch)
                for i, reg in enumerate(regs.split(",")):
                    self.truth.add(self.dev.id, name, int(start) + i * int(length), int(reg),
                                   int(length))
                self.stats.truth_lines += 1
            if line.startswith("@stat "):
                doc = json.loads(line[6:])
                self.stats.last_depth = int(doc.get("depth", -1))
                self.stats.last_stat_time = int(doc.get("time", 0))
                self._anchor = (float(self.stats.last_stat_time), time.monotonic())
                self._last_time = max(self._last_time, float(self.stats.last_stat_time))
            else:
                if line.startswith("[") and "]" in line:
                    with contextlib.suppress(ValueError):
                        t = float(line[1:line.index("]")])
                        self._last_time = max(self._last_time, t)
                        if self._anchor is None:
                            self._anchor = (t, time.monotonic())
                log.write(raw)  # type: ignore[attr-defined]
