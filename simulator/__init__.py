"""Simulated boards, buildings, weather and links that make meterkit runnable without hardware.

Submodules are imported on demand: `simulator.models` (loads, weather, signals), `simulator.
scenario` (TOML scenarios), `simulator.runner` (real firmware + real gateway + broker),
`simulator.truth` (ground truth vs what reached the upstream subscriber), `simulator.demo`.
"""

__all__: list[str] = []
