"""`meterkit protocol decode|vectors`: output, exit codes, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from meterkit.cli import main
from tests.protocol.conftest import VECTORS, load_vectors

ACK = next(v for v in load_vectors("frames.json") if v["name"] == "ack_example")
KEY = ACK["key"]


def test_decode_prints_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocol", "decode", ACK["frame"], "--key", KEY]) == 0
    out = capsys.readouterr().out
    assert "ack downlink device 00a1b2c3 counter 7" in out
    body = json.loads(out[out.index("{") :])
    assert body == ACK["message"]


def test_decode_json_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    spaced = " ".join(ACK["frame"][i : i + 2] for i in range(0, len(ACK["frame"]), 2))
    assert main(["protocol", "decode", spaced, "--key", KEY, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["message"] == ACK["message"]
    assert doc["header"]["type"] == "ack" and doc["header"]["direction"] == "downlink"
    assert doc["header"]["device_id"] == "00a1b2c3"


@pytest.mark.parametrize("key_form", ["hex", "raw"])
def test_key_file(tmp_path: Path, key_form: str, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "dev.key"
    if key_form == "hex":
        f.write_text(KEY + "\n")
    else:
        f.write_bytes(bytes.fromhex(KEY))
    assert main(["protocol", "decode", ACK["frame"], "--key-file", str(f), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["message"] == ACK["message"]


def test_hex_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(ACK["frame"] + "\n"))
    assert main(["protocol", "decode", "-", "--key", KEY, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["message"]["acked"] == 42


def test_wrong_key_is_bad_tag_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocol", "decode", ACK["frame"], "--key", "00" * 16]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: bad_tag: ") and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["protocol", "decode", "4d4bzz", "--key", KEY], 2, "not valid hex"),
        (["protocol", "decode", ACK["frame"], "--key", "0011"], 2, "16 bytes"),
        (["protocol", "decode", ACK["frame"], "--key-file", "/no/such/file"], 2, "cannot read"),
        (["protocol", "decode", ACK["frame"][:20], "--key", KEY], 1, "truncated"),
        (["protocol", "decode", "ffff" + ACK["frame"][4:], "--key", KEY], 1, "bad_magic"),
    ],
)
def test_bad_input_is_a_clear_error(argv, code, words, capsys) -> None:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_vectors_check_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocol", "vectors", "--check"]) == 0
    out = capsys.readouterr().out
    n = sum(len(load_vectors(f)) for f in ("rfc3610.json", "frames.json", "negative.json"))
    assert f"{n} passed, 0 failed" in out


def test_vectors_check_fails_on_a_bad_vector(tmp_path: Path, capsys) -> None:
    for f in VECTORS.glob("*.json"):
        shutil.copy(f, tmp_path / f.name)
    doc = json.loads((tmp_path / "frames.json").read_text())
    doc["vectors"][0]["frame"] = doc["vectors"][0]["frame"][:-2] + "00"
    (tmp_path / "frames.json").write_text(json.dumps(doc))
    assert main(["protocol", "vectors", "--check", "--dir", str(tmp_path)]) == 1
    assert "1 failed" in capsys.readouterr().out


def test_vectors_without_check_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocol", "vectors"]) == 0
    assert "readings_example" in capsys.readouterr().out


def test_help_teaches_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["protocol", "decode", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "--key-file" in out and "bad_tag" in out
    assert main(["protocol"]) == 2
    assert "meterkit protocol vectors --check" in capsys.readouterr().out
