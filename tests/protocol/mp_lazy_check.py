"""MicroPython: print which protocol modules `import protocol.frame` loads (lazy imports check)."""

import sys

import protocol.frame  # noqa: F401

for name in sorted(k for k in sys.modules if k.startswith("protocol")):
    print(name)
