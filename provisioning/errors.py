"""The provisioning exception family: what failed, where, why, and what the installer does next."""

from __future__ import annotations

__all__ = [
    "BoardExecError",
    "BoardLost",
    "BoardNotMicroPython",
    "BundleError",
    "ChannelError",
    "FileWriteError",
    "FirmwareVersionError",
    "GatewayUnreachable",
    "PortBusy",
    "PortMissing",
    "ProvisioningError",
    "RegistrationError",
    "SelfTestFailed",
    "VerificationMismatch",
]


class ProvisioningError(Exception):
    """Base class. `code` picks the translated message; `where` is the port, file or device."""

    code = "error"

    def __init__(self, what: str, *, where: str = "", why: str = "", todo: str = "",
                 **fields: object) -> None:
        super().__init__(f"{where}: {what}" if where else what)
        self.what = what
        self.where = where
        self.why = why
        self.todo = todo
        self.fields = fields
        # What a flow had done when it failed (e.g. `provisioning.flow.Flashed`: registered,
        # config written), so a handler can still save the key file and label of that board.
        self.partial: object | None = None

    def as_dict(self) -> dict[str, object]:
        return {"error": self.code, "what": self.what, "where": self.where, "why": self.why,
                "todo": self.todo, **{k: str(v) for k, v in self.fields.items()}}


class PortMissing(ProvisioningError):
    """The serial port does not exist (cable unplugged, wrong name, driver missing)."""

    code = "port_missing"


class PortBusy(ProvisioningError):
    """Another program (a serial monitor, mpremote, an IDE) holds the port."""

    code = "port_busy"


class BoardNotMicroPython(ProvisioningError):
    """Nothing on the port speaks the MicroPython raw REPL (other firmware, bootloader, modem)."""

    code = "not_micropython"


class BoardLost(ProvisioningError):
    """The serial port failed mid-session: the board was unplugged, reset itself or lost power."""

    code = "board_lost"


class FileWriteError(ProvisioningError):
    """A file on this computer (key, label, bundle) could not be written."""

    code = "file_write"


class BoardExecError(ProvisioningError):
    """Code run on the board raised; `fields['traceback']` holds the board's traceback."""

    code = "board_exec"


class FirmwareVersionError(ProvisioningError):
    """The firmware on the board is not the version this tool expects."""

    code = "firmware_version"


class VerificationMismatch(ProvisioningError):
    """A file's sha256 on the board differs from what was sent; the old file was kept."""

    code = "verify_mismatch"


class SelfTestFailed(ProvisioningError):
    """The on-board self-test reported a failed check (modem, SIM, ADC, pulse input, config)."""

    code = "selftest_failed"


class ChannelError(ProvisioningError, ValueError):
    """A channel setting is invalid; `where` is its path (e.g. "channel 0.nominal_v")."""

    code = "channel"


class GatewayUnreachable(ProvisioningError):
    """The gateway (its database, or its ingest port) cannot be reached from here."""

    code = "gateway_unreachable"


class RegistrationError(ProvisioningError):
    """The registry refused the device (already registered, unknown site, bad value)."""

    code = "registration"


class BundleError(ProvisioningError):
    """A provisioning bundle does not open: wrong gateway key, tampered, untrusted signer."""

    code = "bundle"
