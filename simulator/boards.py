"""One simulated board as a MicroPython process, fed over TCP, restarted after power cuts.

A board's life is split into segments by its fault plan: each power cut ends a process (the
feed sends `cut`; the HAL exits like a board losing power) and the next segment starts a new
process on the same flash image at the cut's end; a reboot is a cut of zero length with the
reset cause set to "watchdog". The feed server streams sim-feed lines ahead of the board's
virtual clock; the board's stdout carries the ground-truth tap (`@truth`) and stats (`@stat`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from simulator.board_config import board_config
from simulator.feed import FeedParams, feed_lines
from simulator.fleet import SimDevice
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
    params: FeedParams = field(default_factory=FeedParams)
    heapsize: str = "4m"
    stats: BoardStats = field(default_factory=BoardStats)

    def __post_init__(self) -> None:
        self.dir = self.workdir / f"board-{self.dev.id}"
        self.state_dir = self.dir / "state"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "config.json"
        self.config_path.write_text(json.dumps(board_config(self.dev, self.gateway_port)))
        self._seg_start = self.t_start
        self.stop_requested = False  # set by the runner once the gateway stored everything
        self.settled = self.t_end + 120  # by then every interval of the period is closed
        self.final_segment = False
        # a drifting RTC: the board's clock runs this much faster (ppm > 0) than true time
        self.clock_speed = self.speed * (1.0 + self.dev.faults.clock_drift_ppm * 1e-6)
        self._cut_seen: float | None = None
        self._anchor: tuple[float, float] | None = None  # (board time, monotonic when seen)
        self._last_time = self.t_start       # latest board time seen in its output
        self._last_output = 0.0
        self._outcome = ""
        self._channel_names = {ch.index: ch.name for ch in self.dev.channels}

    # -- virtual clock estimate ----------------------------------------------------------------
    def now(self) -> float:
        """The board's virtual time: its last reported time (boot line, `@stat`) advanced by
        wall time x speed, the HAL's own formula; before the first report, the segment start."""
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
        try:
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
                if outcome == "cut" and cut is not None:
                    cuts.pop(0)
                    if cut[2] == "watchdog":
                        self.stats.reboots += 1
                        (self.state_dir / "reset_cause").write_text("watchdog")
                    else:
                        self.stats.power_cuts += 1
                    # the HAL applies `cut` when it reaches it, possibly a little late: keep
                    # the planned off time, counted from the real cut: the clock never goes back
                    actual = self._cut_seen if self._cut_seen is not None else cut[0]
                    seg_start = max(cut[1], actual + (cut[1] - cut[0]))
                    continue
                self.stats.restarts += 1
                if self.stats.restarts > MAX_RESTARTS:
                    raise RuntimeError(f"board {self.dev.id}: {self.stats.restarts} unplanned "
                                       f"restarts, last outcome {outcome}; see {self.dir}")
                seg_start = max(seg_start, self._last_time)
        except Exception as exc:  # reported in the run result, never swallowed silently
            self.stats.errors.append(f"{type(exc).__name__}: {exc}")
            raise

    async def _segment(self, seg_start: float, cut_at: float | None) -> str:
        """One process lifetime; returns "exit", "cut", "stalled" or "exit code N"."""
        self.stats.segments += 1
        self._cut_seen = None
        self._anchor = None
        self._outcome = ""
        connected = asyncio.Event()
        writer_box: list[asyncio.StreamWriter] = []

        async def on_feed(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            writer_box.append(w)
            connected.set()

        server = await asyncio.start_server(on_feed, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        env = dict(os.environ, MICROPYPATH=f"{REPO}:.frozen")
        # unbuffered: a copy of the log taken while a board hangs shows its last lines
        log = (self.dir / "board.log").open("ab", buffering=0)
        proc = await asyncio.create_subprocess_exec(
            self.micropython, "-X", f"heapsize={self.heapsize}", str(LAUNCHER),
            "--config", str(self.config_path), "--state-dir", str(self.state_dir),
            "--clock-speed", repr(self.clock_speed), "--start", str(int(seg_start)),
            "--feed", f"tcp:127.0.0.1:{port}", "--clock-synced",
            "--report-every", str(self._report_every()),
            stdout=asyncio.subprocess.PIPE, stderr=log, cwd=REPO, env=env)
        self._seg_start = float(int(seg_start))
        self._last_output = time.monotonic()
        reader = asyncio.create_task(self._read_stdout(proc, log))
        feeder = None
        try:
            await asyncio.wait_for(connected.wait(), 30)
            feeder = asyncio.create_task(self._feed(writer_box[0], seg_start, cut_at))
            await self._wait_or_stall(proc)
        finally:
            if feeder is not None:
                feeder.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await feeder
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
                stamp = pending.split(" ", 1)[0]
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
            line = raw.decode(errors="replace").rstrip()
            if line == "@exit":
                self._outcome = "exit"
            elif line.startswith("@cut power at "):
                self._outcome = "cut"
            if line.startswith("@truth "):
                _tag, ch, start, length, regs = line.split(" ")
                name = self._channel_names.get(int(ch), ch)
                for i, reg in enumerate(regs.split(",")):
                    self.truth.add(self.dev.id, name, int(start) + i * int(length), int(reg),
                                   int(length))
                self.stats.truth_lines += 1
            if line.startswith("@cut power at "):
                self._cut_seen = float(line.rsplit(" ", 1)[1])
                log.write(raw)  # type: ignore[attr-defined]
            elif line.startswith("@stat "):
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
