"""The protocol package under the real MicroPython binary: vectors, hot path, a 64 KiB heap."""

from __future__ import annotations

import json

import pytest

from tests.protocol.conftest import VECTORS, load_vectors
from tests.support.micropython import REPO, mpy_tree, run_micropython

MP = REPO / "tests" / "protocol" / "mp"
ALL = [("rfc", v) for v in load_vectors("rfc3610.json")]
ALL += [("frame", v) for v in load_vectors("frames.json")]
ALL += [("negative", v) for v in load_vectors("negative.json")]


def ok(proc, expect: str = "OK") -> str:
    out = (proc.stdout + proc.stderr).decode()
    assert proc.returncode == 0, out
    assert out.strip().splitlines()[-1].startswith(expect), out
    return out


COUNTS = {"check_rfc.py": {"rfc3610": "rfc3610.json"},
          "check_frames.py": {"frames": "frames.json", "negative": "negative.json"}}


@pytest.mark.parametrize("script", ["check_rfc.py", "check_frames.py"])
def test_all_vectors_in_one_process(script: str) -> None:
    out = ok(run_micropython(MP / script, str(VECTORS), path=[REPO, MP]))
    # every vector was read by MicroPython's streaming reader: as many as CPython's json finds
    seen = {ln.split()[1]: int(ln.split()[2]) for ln in out.splitlines()
            if ln.startswith("COUNT ")}
    assert seen == {name: len(load_vectors(f)) for name, f in COUNTS[script].items()}, out


def test_mutated_frames_raise_only_protocol_errors_under_micropython() -> None:
    n = 1500
    proc = run_micropython(MP / "fuzz_frames.py", str(VECTORS), str(n), "20261124",
                           path=[REPO, MP])
    out = (proc.stdout + proc.stderr).decode()
    assert proc.returncode == 0 and "UNEXPECTED" not in out, out
    assert f"CASES {n}" in out, out
    reasons = {ln.split()[1]: int(ln.split()[2]) for ln in out.splitlines()
               if ln.startswith("REASON ")}
    # the cases reach every layer: header checks, the tag, the payload decoder, and whole
    # frames that still decode; and nothing outside section 6's reasons
    for layer in ("bad_header_check", "bad_tag", "malformed_payload", "truncated", "ok"):
        assert reasons.get(layer, 0) > 0, (layer, reasons)
    assert set(reasons) <= {"ok", "bad_magic", "bad_version", "bad_header_check", "bad_type",
                            "too_long", "truncated", "bad_tag", "malformed_payload"}, reasons
    assert sum(reasons.values()) >= n


@pytest.mark.parametrize(("kind", "v"), ALL, ids=lambda x: x["name"] if isinstance(x, dict) else x)
def test_each_vector_under_a_64k_heap(kind: str, v: dict) -> None:
    # One process per vector: a 64 KiB heap on this 64-bit build holds the modules a board
    # needs for one frame type, not the whole package plus a vector-file reader. The modules
    # are the mpy-cross output a board is given (docs/FIRMWARE.md), not source to compile.
    proc = run_micropython(
        MP / "check_one.py", kind, heapsize="64K", input_bytes=json.dumps(v).encode(),
        path=[mpy_tree(("protocol",)), MP],
    )
    ok(proc)


def hot_path_input() -> bytes:
    vs = {v["name"]: v for v in load_vectors("frames.json")}
    names = ["readings_example", "ack_example", "hello", "status"]
    return json.dumps([vs[n] for n in names]).encode()


def test_firmware_hot_path_and_deframer_from_source() -> None:
    ok(run_micropython(MP / "check_hotpath.py", input_bytes=hot_path_input()))


@pytest.mark.parametrize("heapsize", ["64K", "56K"])
def test_firmware_hot_path_and_deframer_under_a_small_heap(heapsize: str) -> None:
    # 56K: the hot path keeps an eighth of the 64 KiB heap spare, so growth shows up here first
    proc = run_micropython(MP / "check_hotpath.py", heapsize=heapsize,
                           input_bytes=hot_path_input(), path=[mpy_tree(("protocol",))])
    ok(proc)


def test_checker_fails_on_a_wrong_expectation() -> None:
    # The checkers can fail: the same vector with one hex digit of the expected frame changed.
    v = dict(load_vectors("frames.json")[0])
    v["frame"] = v["frame"][:-1] + ("0" if v["frame"][-1] != "0" else "1")
    proc = run_micropython(MP / "check_one.py", "frame", input_bytes=json.dumps(v).encode())
    assert proc.returncode == 1 and b"FAIL" in proc.stdout


def test_negative_checker_fails_on_a_wrong_reason() -> None:
    v = dict(load_vectors("negative.json")[0], reason="bad_magic")
    proc = run_micropython(MP / "check_one.py", "negative", input_bytes=json.dumps(v).encode())
    assert proc.returncode == 1 and b"FAIL" in proc.stdout


def test_modules_run_unmodified_and_import_lazily() -> None:
    # Importing the package loads nothing; frame alone does not pull in crypto or codecs.
    script = MP.parent / "mp_lazy_check.py"
    proc = run_micropython(script)
    assert proc.returncode == 0, (proc.stdout + proc.stderr).decode()
    assert proc.stdout.decode().split() == [
        "protocol",
        "protocol.errors",
        "protocol.frame",
        "protocol.wire",
    ]
