"""Where registrations go: straight into the gateway registry, or into a sealed bundle file.

Both take DeviceRecords with `apply(record)` and can `rollback(record)` one that the board
never received, so the registry and the boards do not drift apart.

`check(record, discard_backlog_key=...)` is the interactive check, run before anything is
written to a board. On the gateway host (`Direct`) it refuses to change the key of a board
whose last key change is not confirmed yet (docs/decisions/016-key-rotation-grace.md): the
gateway keeps one previous key, for the backlog the board sealed with it, and a second change
now would drop it before that backlog arrived. A bundle import does not run that check: the
board already holds the bundle's key, so the import must apply it (`Direct.validate`, and
`Applied.discarded_backlog_key` reports what was given up).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from provisioning.errors import FileWriteError, RegistrationError
from provisioning.gateway_link import DirectRegistrar
from provisioning.identity import write_secret_file
from provisioning.record import DeviceRecord

__all__ = ["Applied", "BundleRegistrar", "Direct", "Registrar", "UnconfirmedRotation"]

DISCARD_FLAG = "--discard-backlog-key"


class UnconfirmedRotation(RegistrationError):
    """The board's last key change is not confirmed: changing its key again now would drop the
    previous key, which the frames still queued on the board need."""

    code = "rotation_unconfirmed"


class Registrar(Protocol):
    def check(self, record: DeviceRecord, *,
              discard_backlog_key: bool = False) -> DeviceRecord: ...
    def apply(self, record: DeviceRecord) -> None: ...
    def rollback(self, record: DeviceRecord) -> None: ...
    def stored_counter_max(self, device_id: str) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Applied:
    """What `Direct.apply` changed besides the record itself."""

    # the board's previous key was kept for a key change not confirmed yet (its backlog had
    # not arrived) and was replaced: frames still queued with it can no longer be stored
    discarded_backlog_key: bool = False


@dataclass(frozen=True, slots=True)
class _Undo:
    device: Any            # gateway.registry.Device before the change, or None (it was added)
    before: Any            # gateway.registry.KeyState before the change
    after: Any             # gateway.registry.KeyState the change wrote


class Direct:
    """The gateway registry on this host; remembers what it replaced so it can undo it."""

    def __init__(self, link: DirectRegistrar) -> None:
        self.link = link
        self._undo: dict[str, _Undo] = {}
        self.applied: dict[str, Applied] = {}

    def validate(self, record: DeviceRecord) -> DeviceRecord:
        """The checks that hold for every route, a bundle import too: known site, no add over
        a registered device."""
        if record.action in ("add", "replace"):
            site = self.link.check_site(record.site)
            exists = self.link.exists(record.device_id)
            if exists and record.action == "add":
                raise RegistrationError("device is already registered", where=record.device_id,
                                        todo="use --replace to re-provision it, or another id")
            return _with(record, site=site)
        return record

    def check(self, record: DeviceRecord, *, discard_backlog_key: bool = False) -> DeviceRecord:
        """`validate`, and (interactive `provision rotate` / `device --replace`, before the
        board is written) refuse a key change while the last one is unconfirmed, unless the
        installer gives up the board's backlog with --discard-backlog-key."""
        record = self.validate(record)
        if record.action in ("rotate", "replace") and not discard_backlog_key:
            device = self.link.get(record.device_id)
            if device is not None and device.previous_kept and not device.rotation_confirmed:
                what = ("another rotation" if record.action == "rotate" else
                        "re-provisioning it")
                raise UnconfirmedRotation(
                    "the last key rotation is not confirmed: the board has not sent a frame "
                    "with its current key yet", where=record.device_id,
                    why="the gateway keeps the board's previous key only for the frames still "
                        f"queued on the board; {what} now would drop it and those frames "
                        "could never be stored",
                    todo="let the board connect once (meterkit gateway devices show "
                         f"{record.device_id}: rotation_confirmed), then retry; or, if the "
                         f"board's queued data may be lost (e.g. the board was replaced), "
                         f"retry with {DISCARD_FLAG}")
        return record

    def stored_counter_max(self, device_id: str) -> int | None:
        """The highest frame counter the gateway holds for `device_id` (None: no frame): a
        board provisioned under this id must continue above it, or its frames are replays."""
        from gateway.registry import max_stored_counter

        return self.link.run(max_stored_counter, device_id, write=False)

    def apply(self, record: DeviceRecord) -> None:
        """Add, replace, rotate or remove in one transaction that also captures the row's key
        columns for `rollback`; `self.applied[device_id]` says what else changed."""
        from gateway.registry import (
            RegistryError,
            add_device,
            get_device,
            get_key_state,
        )

        if record.action == "remove":
            self._undo.pop(record.device_id, None)
            self.link.apply(record)
            self.applied[record.device_id] = Applied()
            return
        box = self.link.box() if record.key is not None else None
        did = record.device_id

        def tx(conn: Any) -> tuple[_Undo, Applied]:
            device = get_device(conn, did)
            before = get_key_state(conn, did)
            rec = record
            if rec.action == "rotate":
                if device is None:
                    raise RegistrationError("device is not registered", where=did,
                                            todo="provision it first (meterkit provision "
                                                 "device)")
                prov = device.calibration.get("provisioning") or {}
                rec = _with(rec, site=device.site, channels=device.channels,
                            building=str(prov.get("building", "")))
            add_device(conn, box, did, rec.key, site=rec.site, channels=rec.channels,
                       calibration=rec.calibration(), replace=rec.action != "add",
                       first_counter=rec.first_counter)
            after = get_key_state(conn, did)
            discarded = bool(
                device is not None and device.previous_kept and not device.rotation_confirmed
                and before is not None and after is not None
                and after.prev_key_enc != before.prev_key_enc)
            return _Undo(device, before, after), Applied(discarded_backlog_key=discarded)

        try:
            undo, applied = self.link.run(tx)
        except RegistryError as exc:
            raise RegistrationError(str(exc), where=did,
                                    todo="use --replace to re-provision a registered board"
                                    if "already registered" in str(exc) else
                                    "check the value named above") from None
        self._undo[did] = undo
        self.applied[did] = applied

    def rollback(self, record: DeviceRecord) -> None:
        """Undo `apply` exactly: a device it added is removed; otherwise the key columns (key,
        previous key, rotated_at, counter limit: sealed, as stored), site, channels and
        calibration are put back as they were. Refused if the row changed meanwhile."""
        from gateway.registry import restore_key_state, update_device

        undo = self._undo.pop(record.device_id, None)
        self.applied.pop(record.device_id, None)
        if undo is None:
            return
        if undo.device is None:
            self.link.apply(_with(record, action="remove"))
            return
        device = undo.device

        def tx(conn: Any) -> bool:
            if not restore_key_state(conn, device.device_id, undo.before, only_if=undo.after):
                return False
            update_device(conn, device.device_id, site=device.site, channels=device.channels,
                          calibration=device.calibration, now=device.updated_at)
            return True

        if not self.link.run(tx):
            raise RegistrationError(
                "cannot undo the registration: the device's key changed meanwhile",
                where=record.device_id,
                todo="check the device (meterkit gateway devices show "
                     f"{record.device_id}) before provisioning it again")


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
        except OSError as exc:
            raise FileWriteError("cannot open the bundle", where=str(self.path),
                                 why=exc.strerror or str(exc),
                                 todo="pick a bundle file in a folder you can write to") from None
        if self._earlier and not self._earlier.endswith(b"\n"):
            self._earlier += b"\n"

    def check(self, record: DeviceRecord, *, discard_backlog_key: bool = False) -> DeviceRecord:
        # Offline: the gateway's state is not known here; the import applies the record and
        # reports a previous key it had to discard.
        if record.action in ("add", "replace") and not record.site:
            raise RegistrationError("a site is needed for the gateway", where=record.device_id,
                                    todo="pass --site (the gateway's [sites.<name>])")
        return record

    def stored_counter_max(self, device_id: str) -> int | None:
        # Offline: the gateway's frames are not known here. The record carries the board's
        # counter limit (first_counter); the import refuses it if the gateway holds frames of
        # the id at or above it (provisioning/gateway_import.py).
        return None

    def _write(self) -> None:
        from provisioning.bundle import create_bundle

        blob = create_bundle(self.records.values(), gateway_public=self.gateway_public,
                             installer_private=self.installer_private) if self.records else b""
        write_secret_file(self.path, self._earlier + blob, "bundle")

    def apply(self, record: DeviceRecord) -> None:
        before = self.records.get(record.device_id)
        self.records[record.device_id] = record
        try:
            self._write()
        except BaseException:
            # Not written: the next board of a bulk run must not carry this record along.
            if before is None:
                self.records.pop(record.device_id, None)
            else:
                self.records[record.device_id] = before
            raise

    def rollback(self, record: DeviceRecord) -> None:
        self.records.pop(record.device_id, None)
        self._write()


def _with(record: DeviceRecord, **changes: Any) -> DeviceRecord:
    from dataclasses import replace

    return replace(record, **changes)
