"""MicroPython: heap taken by importing modules (code, constants, module dicts), in bytes.

micropython mp_code_size.py MODULE... -> prints "code N": gc.mem_alloc() after importing the
modules minus before, both after gc.collect(). This is what a board with the modules frozen
into flash would not spend on its heap.
"""

import gc
import sys

gc.collect()
before = gc.mem_alloc()
for name in sys.argv[1:]:
    __import__(name)
gc.collect()
print("code", gc.mem_alloc() - before)
