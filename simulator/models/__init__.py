"""Pure-CPython models of what boards measure: weather, buildings, lighting, PV, gas, signals."""

__all__: list[str] = []
