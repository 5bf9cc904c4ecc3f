"""Register devices directly in the gateway's registry (on the gateway host), and watch them.

Uses the same functions as `meterkit gateway devices add|remove` (`gateway.registry`), with
the gateway's own config, database and KeyBox, so a key is sealed exactly as the CLI seals it.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from provisioning.errors import GatewayUnreachable, RegistrationError
from provisioning.record import DeviceRecord

__all__ = ["DirectRegistrar", "check_ingest_reachable"]

T = TypeVar("T")


class DirectRegistrar:
    """Applies DeviceRecords to the registry of the gateway configured in `config_path`."""

    def __init__(self, config_path: Path | str) -> None:
        from gateway.config import ConfigError, load_config

        self.config_path = Path(config_path)
        if not self.config_path.is_file():
            raise GatewayUnreachable(
                "gateway config not found", where=str(self.config_path),
                todo="run this on the gateway host (the config is usually "
                     "/etc/meterkit/gateway.toml), or use --bundle to register offline")
        try:
            self.config = load_config(self.config_path)
        except ConfigError as exc:
            raise GatewayUnreachable(
                "gateway config has problems", where=str(self.config_path),
                why="; ".join(str(p) for p in exc.problems[:3]),
                todo=f"run `meterkit gateway check-config --config {self.config_path}`") from None
        except OSError as exc:
            raise GatewayUnreachable(
                "gateway config not readable", where=str(self.config_path), why=str(exc),
                todo="run this on the gateway host as the service user (sudo -u meterkit), "
                     "or use --bundle to register offline") from None

    @property
    def sites(self) -> list[str]:
        return sorted(self.config.sites)

    @property
    def default_site(self) -> str:
        return self.config.gateway.site

    def run(self, fn: Callable[..., T], *args: Any, write: bool = True) -> T:
        from gateway.store import schema as _schema  # noqa: F401  (registers the tables)
        from gateway.store.db import Database, StorageError

        async def go() -> T:
            db = await Database.open(self.config.gateway.db_path,
                                     synchronous=self.config.storage.synchronous)
            try:
                return await (db.write(fn, *args) if write else db.read(fn, *args))
            finally:
                await db.close()

        try:
            return asyncio.run(go())
        except StorageError as exc:
            raise GatewayUnreachable("gateway database not reachable",
                                     where=str(self.config.gateway.db_path), why=str(exc),
                                     todo="run on the gateway host as the service user, or "
                                          "use --bundle to register offline") from None

    def box(self) -> Any:
        from gateway.store.keybox import KeyBox, KeyBoxError

        try:
            return KeyBox.load_or_create(self.config.gateway.secret_file)
        except KeyBoxError as exc:
            raise GatewayUnreachable("gateway secret not readable",
                                     where=str(self.config.gateway.secret_file), why=str(exc),
                                     todo="run as the gateway's service user") from None

    def check_site(self, site: str) -> str:
        site = site or self.default_site
        if site not in self.config.sites:
            raise RegistrationError(f"site {site!r} is not configured on this gateway",
                                    where=str(self.config_path),
                                    todo="use one of: " + ", ".join(self.sites))
        return site

    def exists(self, device_id: str) -> bool:
        from gateway.registry import get_device

        return self.run(get_device, device_id, write=False) is not None

    def get(self, device_id: str) -> Any:
        from gateway.registry import get_device

        return self.run(get_device, device_id, write=False)

    def apply(self, record: DeviceRecord) -> None:
        """Add, replace or remove in one transaction; RegistrationError says why not."""
        from gateway.registry import RegistryError, add_device, remove_device

        box = self.box() if record.key is not None else None

        def tx(conn: Any) -> bool:
            if record.action == "remove":
                return remove_device(conn, record.device_id)
            add_device(conn, box, record.device_id, record.key, site=record.site,
                       channels=record.channels, calibration=record.calibration(),
                       replace=record.action == "replace")
            return True

        try:
            done = self.run(tx)
        except RegistryError as exc:
            raise RegistrationError(str(exc), where=record.device_id,
                                    todo="use --replace to re-provision a registered board"
                                    if "already registered" in str(exc) else
                                    "check the value named above") from None
        if not done:
            raise RegistrationError("device is not registered", where=record.device_id,
                                    todo="check the id on the label")

    def wait_for_hello(self, device_id: str, *, since: int, config_hash: int | None,
                       timeout_s: float = 60.0) -> Any:
        """The registry row once the board said hello after `since` with `config_hash`."""
        deadline = time.monotonic() + timeout_s
        device = None
        while time.monotonic() < deadline:
            device = self.get(device_id)
            if device is not None and (device.last_hello_at or 0) >= since and (
                    config_hash is None or device.config_hash == config_hash):
                return device
            time.sleep(0.5)
        seen = "never" if device is None or device.last_hello_at is None else \
            f"last hello at {device.last_hello_at}, config hash {device.config_hash}"
        raise GatewayUnreachable("the board has not reported to the gateway", where=device_id,
                                 why=seen, todo="check the antenna/SIM and the gateway address "
                                 "in the board config; the board keeps its data and retries")


def check_ingest_reachable(host: str, port: int, timeout_s: float = 3.0) -> None:
    """A TCP connect to the gateway's ingest port from here (the installer's network)."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except OSError as exc:
        raise GatewayUnreachable("gateway ingest port not reachable", where=f"{host}:{port}",
                                 why=str(exc), todo="check the address and that `meterkit "
                                 "gateway run` is up; a board behind a cellular APN may still "
                                 "reach it: then run again without --check-gateway") from None
