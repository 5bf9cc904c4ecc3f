"""The MQTT broker for a run: mosquitto if installed, else the embedded `amqtt` (pip).

Both run as child processes on a free loopback port, in the run's work directory. amqtt
speaks MQTT 3.1.1 only, so `protocol` tells the gateway and subscriber which version to use.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from simulator.errors import DependencyMissing

__all__ = ["Broker", "find_mosquitto", "free_port", "wait_port"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


@dataclass
class Broker:
    """A broker child process; `kind` is "mosquitto" or "amqtt"."""

    workdir: Path
    prefer: str = "auto"   # "auto" | "mosquitto" | "amqtt"
    port: int = field(default_factory=free_port)
    kind: str = ""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def protocol(self) -> str:
        return "3.1.1" if self.kind == "amqtt" else "5"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        mosquitto = find_mosquitto() if self.prefer in ("auto", "mosquitto") else None
        if mosquitto:
            self.kind = "mosquitto"
            conf = self.workdir / "mosquitto.conf"
            # As root, mosquitto drops to user "mosquitto", who cannot write the run's own
            # directory: no persistence file, so sessions would not survive a restart.
            user = ["user root"] if os.geteuid() == 0 else []
            conf.write_text("\n".join([
                *user, f"listener {self.port} 127.0.0.1", "allow_anonymous true",
                "persistence true", f"persistence_location {self.workdir}/",
                "max_queued_messages 0", "max_inflight_messages 0",
                "log_type error", "log_type warning",
                f"log_dest file {self.workdir}/mosquitto.log", ""]))
            cmd = [mosquitto, "-c", str(conf)]
        elif self.prefer == "mosquitto":
            raise DependencyMissing("mosquitto", "binary not found",
                                    hint="apt-get install mosquitto, or use --broker amqtt")
        else:
            try:
                import amqtt  # noqa: F401
            except ImportError:
                raise DependencyMissing(
                    "MQTT broker", "neither mosquitto nor the amqtt package is installed",
                    hint="apt-get install mosquitto, or pip install amqtt") from None
            self.kind = "amqtt"
            cmd = [sys.executable, "-m", "simulator.amqtt_main", "--port", str(self.port)]
        log = (self.workdir / f"{self.kind}.out").open("wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        if not wait_port(self.port, 15.0, self.proc):
            self.stop()
            raise DependencyMissing(self.kind, f"did not listen on port {self.port}",
                                    hint=f"see {self.workdir}/{self.kind}.out")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
