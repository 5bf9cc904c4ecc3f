"""Simulated buildings, weather, links and faults that run meterkit end to end without hardware.

Submodules are imported on demand: `simulator.models` (loads, weather, signals, fault plans),
`simulator.scenario` (TOML scenarios), `simulator.runner` (real firmware under MicroPython,
real gateway, real broker), `simulator.truth` (ground truth vs what reached the upstream
subscriber), `simulator.demo` (`meterkit demo`). See docs/SIMULATOR.md and ADR 009.
"""

__all__: list[str] = []
