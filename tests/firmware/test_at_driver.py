"""AT driver, byte-exact against a scripted fake UART under MicroPython."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.micropython import run_micropython

HERE = Path(__file__).parent


def test_at_driver_commands_urcs_and_interleaved_data() -> None:
    proc = run_micropython(HERE / "mp_at.py", timeout=60)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    line = [ln for ln in proc.stdout.decode().splitlines() if ln.startswith("RESULT ")][-1]
    r = json.loads(line[7:])
    assert r["written"] == [
        "AT\r", "ATE0\r", "AT+CEREG?\r", "AT+CREG?\r", "AT+CSQ\r",
        'AT+CIPSTART="TCP","gw.example",4810\r', "AT+CIPSEND=5\r", "hello",
        "AT+CIPSEND=3\r", "xyz", "AT+CIPSEND=1\r",
    ]
    assert r["reg"] == 5  # roaming on CREG after "searching" on CEREG
    assert r["csq"] == 17
    assert r["recv"] == "ab\r\ncd"  # binary payload with CR LF inside, split over reads
    assert r["recv_timeout"] == 0
    assert r["send_fail"] == "send failed"
    assert r["cme"] == "modem answered +CME ERROR: 3"
    assert r["closed"] == "socket closed by peer"
    assert r["connect_fail"] == "connect failed: CONNECT FAIL"
    assert r["silent"] == "modem does not answer AT"
    assert r["silent_tries"] == 5
    # the Quectel table drives the same driver
    assert r["bg96_written"] == ['AT+QIOPEN=1,0,"TCP","gw",4810,0,1\r', "AT+QISEND=0,3\r", "abc"]
    assert r["bg96_recv"] == "z\r\ny"
    assert r["bg96_closed"] == "socket closed by peer"
