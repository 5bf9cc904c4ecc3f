"""Provision, rotate and decommission one board: the steps in a safe order, each verified.

Order for a new board: the key is registered first (gateway registry or sealed bundle), so it
exists somewhere safe before any board uses it; then firmware and config are written and
verified; if that fails before config.json was renamed into place, the registration is
rolled back, so registry and board never disagree about the key.

A rotation first reads the board's reserved frame-counter limit (`read_counter_limit`), so the
gateway accepts frames sealed with the old key only below it from the moment the key changes
(docs/decisions/016-key-rotation-grace.md).

Provisioning (add or replace) an id the gateway already holds frames of: the gateway stores one
frame per (device, counter) and drops a different frame under a stored counter as a replay, so
a board that starts again below the highest stored counter (its flash erased, a new board under
the id) would never get a frame through. Before the board is reset, its counter file is
written to continue above it (`write_counter_limit`); where the board's flash state is not
reachable, the result says so (`Flashed.counter_unknown`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provisioning.board import Board, BoardInfo
from provisioning.board_counter import read_counter_limit, read_limit, write_counter_limit
from provisioning.channels import Channel
from provisioning.device_config import DeviceConfig, config_hash
from provisioning.errors import (
    FirmwareVersionError,
    ProvisioningError,
    SelfTestFailed,
    VerificationMismatch,
)
from provisioning.firmware_files import FirmwareImage
from provisioning.identity import format_id, new_key
from provisioning.record import DeviceRecord
from provisioning.registrars import Registrar
from provisioning.selftest import SelfTest, run_selftest

__all__ = ["Flashed", "Plan", "decommission", "flash", "provision", "rotate"]

Progress = Callable[[str, int, int], None]
CONFIG = "config.json"


def _quiet(_step: str, _done: int, _total: int) -> None:
    pass


@dataclass(frozen=True, slots=True)
class Plan:
    """What the installer asked for one board."""

    device_id: int
    site: str
    channels: tuple[Channel, ...]
    gateway_host: str
    gateway_port: int
    building: str = ""
    apn: str = ""
    replace: bool = False
    discard_backlog_key: bool = False   # replace even while the last key change is unconfirmed


@dataclass(slots=True)
class Flashed:
    """The result of writing a board; `key` is kept out of reprs and logs."""

    device_id: str
    config_hash: int
    board: BoardInfo | None = None
    selftest: SelfTest | None = None
    files: dict[str, str] = field(default_factory=dict)
    firmware: str = ""
    config_written: bool = False
    key: bytes = field(default=b"", repr=False)
    counter_limit: int | None = None     # the board's reserved counter limit, if read
    # provision: the highest frame counter the gateway held for the id (None: none, or not
    # known offline); the limit written to the board to continue above it (None: not needed);
    # True when the gateway holds frames but the board's counter could not be read or set
    stored_counter: int | None = None
    counter_raised_to: int | None = None
    counter_unknown: bool = False


def flash(board: Board, info: BoardInfo, cfg: DeviceConfig, image: FirmwareImage | None, *,
          expect_fw: tuple[int, ...] | None, modules: list[str], out: Flashed,
          progress: Progress = _quiet, reboot: bool = True) -> Flashed:
    """Write firmware (unless `image` is None) and config to a connected board, verify,
    self-test (importing `modules`), reboot."""
    out.board = info
    if image is None and info.firmware is None:
        raise FirmwareVersionError("no meterkit firmware on the board", where=board.where,
                                   todo="run without --config-only to install it")
    if image is None and expect_fw and info.firmware != tuple(expect_fw):
        raise FirmwareVersionError(
            f"board runs firmware {_v(info.firmware)}, this tool writes configs for "
            f"{_v(expect_fw)}", where=board.where, todo="run without --config-only to update "
            "the firmware, or use the meterkit release that matches the board")
    if image is not None and 0 <= info.free_bytes < image.size + 16384:
        raise ProvisioningError(f"only {info.free_bytes} bytes free on the board",
                                where=board.where, todo="erase the board's filesystem "
                                "(docs/INSTALLER.md) and retry")
    todo = list(image.files.items()) if image else []
    total = len(todo) + 1
    for i, (path, data) in enumerate(todo):
        out.files[path] = board.put_file(path, data)
        progress(path, i + 1, total)
    out.files[CONFIG] = board.put_file(CONFIG, cfg.text().encode())
    out.config_written = True
    progress(CONFIG, total, total)
    for path, sha in out.files.items():     # read back after the renames, not just the temps
        got = board.sha256(path)
        if got != sha:
            raise VerificationMismatch("file on the board changed after writing",
                                       where=f"{board.where}:{path}", why=f"{got} != {sha}",
                                       todo="retry; if it repeats the board's flash is failing")
    info = board.probe()
    want_fw = image.version if image else expect_fw
    if want_fw and info.firmware != tuple(want_fw):
        raise FirmwareVersionError(f"board reports firmware {_v(info.firmware)} after writing "
                                   f"{_v(want_fw)}", where=board.where, todo="retry")
    out.firmware = _v(info.firmware)
    st = out.selftest = run_selftest(board, modules)
    if st.failed:
        # The config is written and verified: restart the board into its app (it keeps
        # retrying the modem), so fixing the wiring or SIM is all that is left to do.
        state = "left in its REPL (--no-reboot): unplug and replug it to start it"
        if reboot:
            try:
                board.reset()
                state = "rebooted: its app runs with the new config"
            except ProvisioningError:
                state = "not answering: unplug and replug it to start it"
        raise SelfTestFailed("self-test failed: " + ", ".join(st.failed), where=board.where,
                             why="; ".join(f"{k}: {st.checks[k][1]}" for k in st.failed),
                             todo=f"the board holds its config as {out.device_id}; fix the "
                                  "wiring/SIM named above, then run `meterkit provision "
                                  f"check --port {board.where}` (no need to provision again)",
                             board=state)
    if st.device_id != cfg.device_id or st.config_hash != cfg.hash():
        raise VerificationMismatch("the board reads a different config than was written",
                                   where=board.where, why=f"hash {st.config_hash} != "
                                   f"{cfg.hash()}", todo="retry the provisioning")
    if reboot:
        board.reset()
    return out


def provision(plan: Plan, board: Board, registrar: Registrar, image: FirmwareImage | None, *,
              expect_fw: tuple[int, ...] | None = None, modules: list[str] | None = None,
              progress: Progress = _quiet, reboot: bool = True,
              now: int | None = None) -> Flashed:
    """Register, then write the board; roll the registration back if the board never got it.

    A board that already holds another device's config is refused unless `plan.replace`:
    re-flashing it would orphan that device's registration and data.
    """
    info = board.connect()
    if info.has_config and not plan.replace:
        raw = board.read_file(CONFIG)
        current = _config_id(raw)
        if current is not None and current != plan.device_id:
            raise ProvisioningError(
                f"the board is already provisioned as {format_id(current)}",
                where=board.where, todo=f"decommission {format_id(current)} first, or pass "
                "--replace if this board really becomes a new device")
    key = new_key()
    cfg = DeviceConfig(plan.device_id, key, plan.gateway_host, plan.gateway_port, plan.channels,
                       modem={"apn": plan.apn} if plan.apn else None)
    did = format_id(plan.device_id)
    fw = image.version_text if image else _v(expect_fw)
    # The gateway holds one frame per (id, counter): the board must continue above the highest
    # one stored, whatever board held the id before (docs/INSTALLER.md, erasing a board).
    stored = registrar.stored_counter_max(did)
    reachable, limit = read_limit(board, info.platform)
    raise_to = None
    if stored is not None and (limit is None or limit <= stored) and reachable:
        raise_to = stored + 1
    record = registrar.check(DeviceRecord(
        did, "replace" if plan.replace else "add", int(now or time.time()), site=plan.site,
        key=key, channels={str(c.index): c.registry(plan.building) for c in plan.channels},
        config_hash=cfg.hash(), firmware=fw, building=plan.building,
        first_counter=raise_to or limit),
        discard_backlog_key=plan.discard_backlog_key)
    registrar.apply(record)
    out = Flashed(did, cfg.hash(), key=key, counter_limit=raise_to or limit,
                  stored_counter=stored, counter_raised_to=raise_to,
                  counter_unknown=stored is not None and not reachable)
    try:
        if raise_to is not None and not write_counter_limit(board, info.platform, raise_to):
            raise ProvisioningError("the board's frame counter could not be written",
                                    where=board.where, todo="retry")
        return flash(board, info, cfg, image, expect_fw=expect_fw, out=out,
                     modules=modules if modules is not None else
                     (image.modules if image else []), progress=progress, reboot=reboot)
    except ProvisioningError as exc:
        rollback_error = None if out.config_written else _rollback(registrar, record)
        _what_happened(exc, out, rollback_error)
        raise
    except BaseException:
        if not out.config_written:
            _rollback(registrar, record)
        raise


def _rollback(registrar: Registrar, record: Any) -> Exception | None:
    """Undo the registration; a failure to undo is returned, not raised: the installer must
    still learn what failed first and in which state it left the device."""
    try:
        registrar.rollback(record)
    except Exception as exc:  # a full disk, a key changed meanwhile: reported, not hidden
        return exc
    return None


def _what_happened(exc: ProvisioningError, out: Flashed,
                   rollback_error: Exception | None = None) -> None:
    """Tell the installer the state a failed provisioning left: is the id registered, does
    the board hold its config (then key file and label are still worth writing)."""
    exc.partial = out
    exc.fields.setdefault("device_id", out.device_id)
    if out.config_written:
        exc.fields["registered"] = "yes"
        exc.fields.setdefault("board", "left in its REPL: unplug and replug it to start it")
    elif rollback_error is not None:
        exc.fields["registered"] = f"yes: undoing it failed ({rollback_error})"
        step = (f"{out.device_id} is registered with a key no board holds: remove it "
                f"(meterkit gateway devices remove {out.device_id}, or delete it from the "
                "bundle) before provisioning again")
        exc.todo = f"{exc.todo}; {step}" if exc.todo else step
    else:
        exc.fields["registered"] = "no (rolled back)"
        step = (f"nothing is registered for {out.device_id}; run the same command again "
                f"(add --id {out.device_id} to keep this id)")
        exc.todo = f"{exc.todo}; {step}" if exc.todo else step


def rotate(board: Board, registrar: Registrar, *, expect_fw: tuple[int, ...] | None = None,
           now: int | None = None,
           before_apply: Callable[[str], None] | None = None,
           discard_backlog_key: bool = False) -> Flashed:
    """A new key for the board on `board`: read its config and counter limit, check with the
    registrar (nothing is written before), swap the key, register, write, reset.

    `discard_backlog_key`: rotate even while the last rotation is unconfirmed (the previous
    key kept for the board's backlog is given up).
    """
    info = board.connect()
    raw = board.read_file(CONFIG)
    if raw is None:
        raise ProvisioningError("the board has no config", where=board.where,
                                todo="provision it with `meterkit provision device`")
    cfg = _board_config(raw)
    if cfg is None:
        raise ProvisioningError(
            "the board's config.json is damaged", where=board.where,
            why="not a JSON object with a device_id between 1 and ffffffff",
            todo="provision the board again with the id on its label: `meterkit provision "
                 "device --port ... --id <label id> --replace` (that also gives it a new key)")
    limit = read_counter_limit(board, info.platform)
    key = new_key()
    cfg["key"] = key.hex()
    text = json.dumps(cfg, indent=1, sort_keys=True) + "\n"
    did = format_id(cfg["device_id"])
    record = registrar.check(DeviceRecord(did, "rotate", int(now or time.time()), key=key,
                                          config_hash=config_hash(text, key.hex()),
                                          firmware=_v(expect_fw), first_counter=limit),
                             discard_backlog_key=discard_backlog_key)
    if before_apply is not None:
        before_apply(did)
    registrar.apply(record)
    out = Flashed(did, config_hash(text, key.hex()), key=key, counter_limit=limit)
    try:
        out.files[CONFIG] = board.put_file(CONFIG, text.encode())
        out.config_written = True
    except ProvisioningError as exc:
        registrar.rollback(record)
        exc.fields.update(device_id=did, key="unchanged: the gateway's change was rolled back")
        exc.todo = f"{exc.todo}; the board keeps its old key, run rotate again"
        raise
    except BaseException:
        registrar.rollback(record)
        raise
    try:
        board.reset()
    except ProvisioningError as exc:
        exc.fields.update(device_id=did, key="rotated on the board and at the gateway")
        exc.todo = "the rotation is complete; unplug and replug the board to restart it"
        raise
    return out


def decommission(device_id: int, registrar: Registrar, board: Board | None, *,
                 now: int | None = None) -> bool:
    """Remove the device from the gateway; if its board is connected, delete its config (and
    so its key) from the board first. Returns whether a config was removed from a board."""
    removed = False
    if board is not None:
        board.connect()
        raw = board.read_file(CONFIG)
        # A damaged config is erased too: no firmware can run with it, so it identifies no
        # device, and the key fragment in it must not stay on the board.
        current = _config_id(raw)
        if current is not None and current != device_id:
            raise ProvisioningError(f"the board on the port is {format_id(current)}, not "
                                    f"{format_id(device_id)}", where=board.where,
                                    todo="connect the right board, or run decommission "
                                         f"{format_id(current)}")
        removed = board.remove(CONFIG)
        board.reset()
    registrar.apply(DeviceRecord(format_id(device_id), "remove", int(now or time.time())))
    return removed


def _board_config(raw: bytes | None) -> dict[str, Any] | None:
    """The board's config as a dict with a valid device_id, or None if it is damaged."""
    try:
        cfg = json.loads(raw or b"")
    except ValueError:    # also UnicodeDecodeError
        return None
    if not isinstance(cfg, dict):
        return None
    did = cfg.get("device_id")
    if isinstance(did, bool) or not isinstance(did, int) or not 0 < did <= 0xFFFFFFFF:
        return None
    return cfg


def _config_id(raw: bytes | None) -> int | None:
    cfg = _board_config(raw)
    return None if cfg is None else int(cfg["device_id"])


def _v(version: tuple[int, ...] | None) -> str:
    return ".".join(str(x) for x in version) if version else "?"
