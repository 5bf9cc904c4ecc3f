"""The plugin contract: every hook documented; the host calls no name outside HOOKS."""

from __future__ import annotations

import ast
import asyncio
import inspect
from pathlib import Path
from typing import Any

from gateway.model import PluginResult
from gateway.plugins import hookspecs
from gateway.plugins.host import HostContext
from gateway.plugins.runner import Backoff, PluginRunner

PLUGINS_DIR = Path(hookspecs.__file__).parent
HOST_MODULES = ("host.py", "runner.py")


def test_every_hook_and_context_method_has_a_docstring() -> None:
    assert set(hookspecs.HOOKS) == {"validate_config", "start", "on_readings", "on_event",
                                    "on_result", "on_schedule", "run", "stop"}
    for name in (*hookspecs.HOOKS, hookspecs.SNAPSHOT):
        doc = inspect.getdoc(getattr(hookspecs.PluginSpec, name))
        assert doc and doc.strip(), f"hook {name} has no docstring"
    for name, member in vars(hookspecs.PluginContext).items():
        if callable(member) and not name.startswith("_"):
            assert inspect.getdoc(member), f"PluginContext.{name} has no docstring"
            assert hasattr(HostContext, name), f"HostContext lacks {name}"


def _hook_names_in_source() -> set[str]:
    """Every string literal the host passes as a hook name to call/offer/has."""
    names: set[str] = set()
    for module in HOST_MODULES:
        tree = ast.parse((PLUGINS_DIR / module).read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("call", "offer", "has") and node.args
                    and isinstance(node.args[0], ast.Constant)):
                names.add(node.args[0].value)
    return names


def test_host_source_names_only_hooks_from_the_contract() -> None:
    used = _hook_names_in_source()
    assert used, "the scan found no hook calls: has the host changed shape?"
    assert used <= set(hookspecs.HOOKS), used - set(hookspecs.HOOKS)


class Spy:
    """Records every attribute the host touches on the plugin instance."""

    schedule_s = 1

    def __init__(self) -> None:
        object.__setattr__(self, "touched", set())

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and name != "touched":
            object.__getattribute__(self, "touched").add(name)
        return object.__getattribute__(self, name)

    async def start(self) -> None: ...
    async def on_readings(self, batch: Any) -> None: ...
    async def on_event(self, event: Any) -> None: ...
    async def on_result(self, result: Any) -> None: ...
    async def on_schedule(self, now: Any) -> None: ...
    async def run(self) -> None: ...
    async def stop(self) -> None: ...
    async def not_a_hook(self) -> None:
        raise AssertionError("the host called a method outside the contract")


async def test_runner_touches_nothing_but_hooks_and_refuses_other_names() -> None:
    spy = Spy()
    runner = PluginRunner("spy", spy, queue_size=10, hook_timeout_s=1, backoff=Backoff(),
                          logger=__import__("logging").getLogger("test"))
    serve = asyncio.create_task(runner.serve())
    run = asyncio.create_task(runner.run_forever())
    tick = asyncio.create_task(runner.tick_forever(1))
    for hook, arg in (("on_readings", None), ("on_event", None), ("on_result", None)):
        assert runner.offer(hook, arg)
    assert not runner.offer("not_a_hook", None)
    try:
        await runner.call("not_a_hook")
    except ValueError as exc:
        assert "not a hook" in str(exc)
    else:
        raise AssertionError("call() accepted a name outside HOOKS")
    await asyncio.sleep(1.2)   # one on_schedule tick
    assert "plugin" not in runner.snapshot()    # Spy has no snapshot(): nothing added
    await runner.drain_and_stop()
    await asyncio.gather(serve, run, tick)
    assert spy.touched <= set(hookspecs.HOOKS) | {"schedule_s", hookspecs.SNAPSHOT}, spy.touched
    assert {"start", "on_readings", "on_schedule", "run", "stop"} <= spy.touched
    assert runner.counters["errors"] == 0


def test_plugin_result_is_what_plugins_publish() -> None:
    # The contract's types stay plain data: a plugin can build one without the host.
    result = PluginResult(plugin="x", name="y", payload={"a": 1})
    assert result.site is None and result.payload == {"a": 1}
