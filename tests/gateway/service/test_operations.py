"""Operations: retention, log format, the systemd unit and the installer's dry run."""

from __future__ import annotations

import io
import json
import logging
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from gateway import outbox
from gateway.logs import setup_logging
from gateway.retention import Retention
from gateway.store import schema as _schema  # noqa: F401
from gateway.store.db import Database

REPO = Path(__file__).resolve().parents[3]
DAY = 86400


async def test_retention_drops_old_raw_frames_and_delivered_outbox_rows(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "g.db")
    now = time.time()

    def seed(conn: sqlite3.Connection) -> None:
        for i, age_days in enumerate((500, 401, 399, 1)):
            conn.execute("INSERT INTO frames (device_id, counter, type, raw, received_at) "
                         "VALUES ('0000a1b2', ?, 'readings', x'00', ?)",
                         (i, int(now - age_days * DAY)))
        for age_days, delivered in ((500, True), (500, False), (1, True)):
            oid = outbox.add(conn, topic="t/x", payload=b"{}", stream="s", msg_id="m")
            if delivered:
                conn.execute("UPDATE outbox SET state = 'delivered', delivered_at = ? "
                             "WHERE id = ?", (now - age_days * DAY, oid))

    try:
        await db.write(seed)
        retention = Retention(db, 400)
        await retention.run_once(now)
        raw = await db.read(lambda c: [r[0] is None for r in c.execute(
            "SELECT raw FROM frames ORDER BY counter")])
        assert raw == [True, True, False, False]          # rows stay, old bytes go
        states = await db.read(lambda c: sorted(r[0] for r in c.execute(
            "SELECT state FROM outbox")))
        assert states == ["delivered", "pending"]         # undelivered is never pruned
        assert retention.counters == {"frames_pruned": 2, "outbox_pruned": 1, "passes": 1}
    finally:
        await db.close()


def test_key_value_and_json_logs() -> None:
    out = io.StringIO()
    setup_logging("INFO", "kv", out)
    logging.getLogger("gateway.test").info("frame stored", extra={"device": "0000a1b2",
                                                                  "note": "two words"})
    line = out.getvalue().strip()
    assert 'level=info logger=gateway.test msg="frame stored" device=0000a1b2' in line
    assert 'note="two words"' in line and line.startswith("ts=")
    out = io.StringIO()
    setup_logging("WARNING", "json", out)
    logging.getLogger("gateway.test").info("hidden")
    logging.getLogger("gateway.test").warning("shown", extra={"n": 3})
    doc = json.loads(out.getvalue())
    assert (doc["msg"], doc["n"], doc["level"]) == ("shown", 3, "warning")


def test_systemd_unit_is_hardened_and_drains() -> None:
    unit = (REPO / "deploy" / "meterkit-gateway.service").read_text()
    for line in ("User=meterkit", "ProtectSystem=strict", "ReadWritePaths=/var/lib/meterkit",
                 "NoNewPrivileges=yes", "PrivateTmp=yes", "Restart=on-failure",
                 "TimeoutStopSec=90", "KillSignal=SIGTERM", "StandardOutput=journal",
                 "ExecStart=/opt/meterkit/venv/bin/meterkit gateway run --config "
                 "/etc/meterkit/gateway.toml"):
        assert f"\n{line}\n" in unit, line


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="installer targets Debian/Ubuntu")
def test_installer_dry_run_changes_nothing() -> None:
    run = subprocess.run(["bash", str(REPO / "deploy" / "install.sh"), "--dry-run"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "would run: systemctl enable meterkit-gateway.service" in run.stdout
    assert "dry run: nothing was changed" in run.stdout
