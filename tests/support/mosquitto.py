"""A real mosquitto broker on a free port, which tests can kill and restart."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from tests.support.ports import free_port, wait_for_port


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if not found:
        raise RuntimeError(
            "mosquitto is not installed; scripts/test installs it (apt-get) when run as root"
        )
    return found


class Mosquitto:
    """Start with `start()`; `kill()` simulates a crash; `start()` again reuses port and store.

    `extra_config` lines are appended (listeners for TLS, password files...). Persistence is on,
    in the test's own directory, so a restarted broker keeps persistent sessions.
    """

    def __init__(self, workdir: Path, *, port: int | None = None, extra_config: str = "") -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra_config = extra_config
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "mosquitto.log"

    @property
    def config_path(self) -> Path:
        return self.workdir / "mosquitto.conf"

    def write_config(self) -> None:
        self.config_path.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",
                    "persistence true",
                    f"persistence_location {self.workdir}/",
                    "autosave_interval 1",
                    "max_queued_messages 0",
                    "max_inflight_messages 0",
                    "log_type error",
                    "log_type warning",
                    f"log_dest file {self.log_path}",
                    # as root mosquitto drops to user `mosquitto`, cannot write the test dir and
                    # silently loses persistence and its log
                    "user root" if os.geteuid() == 0 else "",
                    self.extra_config,
                ]
            )
            + "\n"
        )

    def start(self, *, wait_port: int | None = None) -> None:
        if self.proc and self.proc.poll() is None:
            return
        self.write_config()
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(wait_port or self.port, timeout=10)
        except TimeoutError:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            self.kill()
            raise RuntimeError(f"mosquitto did not start: {err}") from None

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.kill()

    def kill(self) -> None:
        """SIGKILL: the broker dies without saving, like a power cut."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM: the broker saves its persistence file and exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
