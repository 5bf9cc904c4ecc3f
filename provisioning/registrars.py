"""Where registrations go: straight into the gateway registry, or into a sealed bundle file.

Both take DeviceRecords with `apply(record)` and can `rollback(record)` one that the board
never received, so the registry and the boards do not drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from provisioning.errors import RegistrationError
from provisioning.gateway_link import DirectRegistrar
from provisioning.identity import write_secret_file
from provisioning.record import DeviceRecord

__all__ = ["BundleRegistrar", "Direct", "Registrar"]


class Registrar(Protocol):
    def check(self, record: DeviceRecord) -> DeviceRecord: ...
    def apply(self, record: DeviceRecord) -> None: ...
    def rollback(self, record: DeviceRecord) -> None: ...


class Direct:
    """The gateway registry on this host; remembers what it replaced so it can undo it."""

    def __init__(self, link: DirectRegistrar) -> None:
        self.link = link
        self._undo: dict[str, DeviceRecord | None] = {}

    def check(self, record: DeviceRecord) -> DeviceRecord:
        if record.action in ("add", "replace"):
            site = self.link.check_site(record.site)
            exists = self.link.exists(record.device_id)
            if exists and record.action == "add":
                raise RegistrationError("device is already registered", where=record.device_id,
                                        todo="use --replace to re-provision it, or another id")
            return _with(record, site=site)
        if record.action == "rotate":
            device = self.link.get(record.device_id)
            if device is not None and device.previous_kept and (
                    device.first_counter_since_rotation is None):
                # the gateway keeps one previous key, for the backlog the board sealed with
                # it: a second rotation now would drop that key before the backlog arrived
                raise RegistrationError(
                    "the last key rotation is not confirmed: the board has not sent a frame "
                    "with its current key yet", where=record.device_id,
                    todo="let the board connect once (meterkit gateway devices show "
                         f"{record.device_id}), then rotate again")
        return record

    def _previous(self, device_id: str) -> DeviceRecord | None:
        from gateway.registry import get_device_key

        device = self.link.get(device_id)
        if device is None:
            return None
        key = self.link.run(lambda c: get_device_key(c, self.link.box(), device_id),
                             write=False)
        prov = dict(device.calibration.get("provisioning") or {})
        return DeviceRecord(device_id, "replace", int(prov.get("issued_at", 0)),
                            site=device.site, key=key, channels=device.channels,
                            config_hash=prov.get("config_hash"),
                            firmware=str(prov.get("firmware", "")),
                            building=str(prov.get("building", "")))

    def apply(self, record: DeviceRecord) -> None:
        previous = self._previous(record.device_id)
        if record.action == "rotate":
            if previous is None:
                raise RegistrationError("device is not registered", where=record.device_id,
                                        todo="provision it first (meterkit provision device)")
            record = _with(record, action="replace", site=previous.site,
                           channels=previous.channels, building=previous.building)
        self._undo[record.device_id] = previous
        self.link.apply(record)

    def rollback(self, record: DeviceRecord) -> None:
        previous = self._undo.pop(record.device_id, None)
        if previous is None:
            self.link.apply(_with(record, action="remove"))
        else:
            self.link.apply(previous)


class BundleRegistrar:
    """Collects this run's records into one sealed envelope appended to the bundle file
    (0600), rewritten after every change; envelopes of earlier runs are kept as they are."""

    def __init__(self, path: Path, *, gateway_public: bytes, installer_private: bytes) -> None:
        self.path = Path(path)
        self.gateway_public = gateway_public
        self.installer_private = installer_private
        self.records: dict[str, DeviceRecord] = {}
        try:
            self._earlier = self.path.read_bytes()
        except FileNotFoundError:
            self._earlier = b""
        if self._earlier and not self._earlier.endswith(b"\n"):
            self._earlier += b"\n"

    def check(self, record: DeviceRecord) -> DeviceRecord:
        if record.action in ("add", "replace") and not record.site:
            raise RegistrationError("a site is needed for the gateway", where=record.device_id,
                                    todo="pass --site (the gateway's [sites.<name>])")
        return record

    def _write(self) -> None:
        from provisioning.bundle import create_bundle

        blob = create_bundle(self.records.values(), gateway_public=self.gateway_public,
                             installer_private=self.installer_private) if self.records else b""
        write_secret_file(self.path, self._earlier + blob)

    def apply(self, record: DeviceRecord) -> None:
        self.records[record.device_id] = record
        self._write()

    def rollback(self, record: DeviceRecord) -> None:
        self.records.pop(record.device_id, None)
        self._write()


def _with(record: DeviceRecord, **changes: Any) -> DeviceRecord:
    from dataclasses import replace

    return replace(record, **changes)
