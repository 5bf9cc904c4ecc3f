"""Shared pieces of the `meterkit provision` handlers: output, errors, registrar choice."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.markup import escape

from provisioning.errors import ProvisioningError
from provisioning.messages import error_text, t
from provisioning.registrars import BundleRegistrar, Direct, Registrar

__all__ = ["console", "fail", "guarded", "make_registrar", "say", "unexpected"]


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def say(args: argparse.Namespace, key: str, **values: object) -> None:
    """A progress line for people (suppressed with --json, where stdout is for machines)."""
    if not getattr(args, "json", False):
        console().print(t(key, args.lang, **values))


def fail(args: argparse.Namespace, exc: ProvisioningError) -> int:
    """Print an error the installer can act on; JSON on stdout with --json. Exit code 1."""
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, **exc.as_dict()}))
        return 1
    head, step = error_text(exc.code, args.lang)
    out = console(stderr=True)
    out.print(f"[bold red]{head}[/]: {escape(str(exc))}")
    if exc.why:
        out.print(f"  {exc.why}", markup=False)
    # The state the failure left (device id, registered or not, the board), then the step.
    for name, value in exc.fields.items():
        if name != "traceback":
            out.print(f"  {name}: {value}", markup=False)
    out.print(f"[bold]{t('todo', args.lang)}:[/] {step}")
    if exc.todo:
        out.print(f"  → {exc.todo}", markup=False)
    return 1


def unexpected(exc: Exception) -> ProvisioningError:
    """A failure no check foresaw, as one error line instead of a traceback."""
    return ProvisioningError("unexpected failure", why=f"{type(exc).__name__}: {exc}",
                             todo="run the same command again; if it repeats, report this "
                                  "line and the command to the meterkit maintainers")


def guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn every error into the installer-facing message and exit code 1, never a traceback
    (Ctrl-C still stops the command)."""
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except ProvisioningError as exc:
            return fail(args, exc)
        except Exception as exc:
            return fail(args, unexpected(exc))

    run.__name__ = handler.__name__
    return run


def make_registrar(args: argparse.Namespace) -> Registrar:
    """--gateway-config (direct, on the gateway host) or --bundle (offline, sealed file)."""
    if getattr(args, "bundle", None):
        from provisioning.keyfiles import load_private, load_public

        if not args.gateway_pubkey or not args.installer_key:
            raise ProvisioningError("--bundle needs --gateway-pubkey and --installer-key",
                                    where="options", todo="see `meterkit provision keys --help`")
        return BundleRegistrar(Path(args.bundle),
                               gateway_public=load_public(Path(args.gateway_pubkey),
                                                          "gateway bundle public key"),
                               installer_private=load_private(Path(args.installer_key),
                                                              "installer key"))
    if getattr(args, "gateway_config", None):
        from provisioning.gateway_link import DirectRegistrar

        return Direct(DirectRegistrar(args.gateway_config))
    raise ProvisioningError("no way to register the device given", where="options",
                            todo="on the gateway host pass --gateway-config "
                                 "/etc/meterkit/gateway.toml; elsewhere pass --bundle FILE "
                                 "with --gateway-pubkey and --installer-key")


def write_stdout_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, indent=1, default=str) + "\n")
