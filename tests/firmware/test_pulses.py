"""Gas pulses: bounce and slow magnets count once; 10,000 pulses land in the right hours."""

from __future__ import annotations

import json
from pathlib import Path

from tests.firmware.board import T0, readings, run_board, write_config
from tests.firmware.gateway_stub import GatewayStub
from tests.support.micropython import run_micropython

HERE = Path(__file__).parent
CFG = {"id": 1, "edge": "falling", "stable_ms": 20, "min_period_ms": 250}


def _pulse(t: float, width: float, bounce_ms: float, flips: int) -> list[list[float]]:
    """A closure (level 0) at t held `width` ms; `flips` chatter transitions at each end."""
    edges: list[list[float]] = []
    for k in range(flips):
        edges.append([t + k * bounce_ms / (flips + 1), k % 2])  # 0,1,0,1... while closing
    edges.append([t + bounce_ms, 0])
    r = t + width
    for k in range(flips):
        edges.append([r + k * bounce_ms / (flips + 1), 1 - k % 2])  # 1,0,1,0... opening
    edges.append([r + bounce_ms, 1])
    return edges


def _train(n: int, period: float, width: float, bounce_ms: float, flips: int) -> list:
    return [e for i in range(n) for e in _pulse(1000 + period * i, width, bounce_ms, flips)]


def _run(tmp_path: Path, cases: list[dict]) -> list[dict]:
    for c in cases:
        c["edges"] = [[int(t), lv] for t, lv in c["edges"]]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    proc = run_micropython(HERE / "mp_pulses.py", str(path))
    assert proc.returncode == 0, proc.stderr.decode()
    return [json.loads(ln) for ln in proc.stdout.decode().splitlines()]


def test_bounce_and_slow_magnet_counted_exactly(tmp_path: Path) -> None:
    clean = _train(25, 2000, 400, 0, 0)
    bounce_2ms = _train(40, 2000, 400, 2, 6)
    # slow magnet: the reed chatters for 30 ms at both ends of a 3 s closure
    slow = _train(12, 8000, 3000, 30, 9)
    # a glitch shorter than stable_ms between real pulses is not a pulse
    glitch = [*_pulse(1000, 400, 2, 4), [5000, 0], [5005, 1], *_pulse(9000, 400, 2, 4)]
    # drained at an awkward moment, in the middle of the bounce
    mid = _train(30, 1500, 300, 2, 6)
    cases = [
        {"cfg": CFG, "edges": clean, "end_ms": 60000},
        {"cfg": CFG, "edges": bounce_2ms, "end_ms": 90000},
        {"cfg": CFG, "edges": slow, "end_ms": 110000},
        {"cfg": CFG, "edges": glitch, "end_ms": 20000},
        {"cfg": CFG, "edges": mid, "end_ms": 60000, "drain_ms": 7},
        # ticks wrap (2**30 ms) in the middle of the train
        {"cfg": CFG, "edges": [[t + (1 << 30) - 10000, lv] for t, lv in bounce_2ms],
         "start_ms": (1 << 30) - 10000, "end_ms": (1 << 30) + 90000},
    ]
    got = _run(tmp_path, cases)
    assert [g["count"] for g in got] == [25, 40, 12, 2, 30, 40]
    assert all(g["overflow"] == 0 for g in got)


def test_min_period_rejects_pulses_too_close(tmp_path: Path) -> None:
    # two clean pulses 100 ms apart: the second is physically impossible for the meter
    edges = _pulse(1000, 40, 0, 0) + _pulse(1100, 40, 0, 0) + _pulse(3000, 40, 0, 0)
    got = _run(tmp_path, [{"cfg": CFG, "edges": edges, "end_ms": 10000}])
    assert got[0]["count"] == 2 and got[0]["rejected"] == 1


def test_rising_edge_channel(tmp_path: Path) -> None:
    cfg = dict(CFG, edge="rising")
    edges = []
    for i in range(10):  # idle low, pulse high with bounce
        t = 1000 + 1000 * i
        edges += [[t, 1], [t + 1, 0], [t + 2, 1], [t + 300, 0], [t + 301, 1], [t + 302, 0]]
    got = _run(tmp_path, [{"cfg": cfg, "edges": edges, "end_ms": 20000}])
    assert got[0]["count"] == 10


def test_ten_thousand_pulses_across_an_hour_boundary(tmp_path: Path) -> None:
    gw = GatewayStub(bytes(range(16)))
    try:
        cfg = write_config(tmp_path / "cfg.json", gw.port, [
            {"id": 1, "type": "pulse", "litres_per_pulse": 10, "stable_ms": 20,
             "min_period_ms": 250}])
        # pulse i closes at T0 + 2100.15 s + 0.3 s * i (2 ms of bounce at each end):
        # i = 0..4999 before T0 + 3600, i = 5000..9999 after it.
        feed = ["+2100.15 pulses 1 n=10000 period_ms=300 width_ms=100 bounce=2 bounce_ms=2 "
                "release_bounce=2"]
        proc = run_board(tmp_path, cfg, feed, speed=3000, run_for=7200 + 30, port=gw.port)
        assert proc.returncode == 0, proc.stdout.decode()[-2000:] + proc.stderr.decode()
    finally:
        gw.close()
    rows = {s: (r, f) for s, r, f in readings(gw.frames, 1)}
    assert rows[T0][0] == 5000 * 10
    assert rows[T0 + 3600][0] == 10000 * 10
    assert rows[T0 + 3600][1] == 0  # a complete, synced hour
