"""Register-level emulators of the chips machimori supports, for firmware tests and sim/.

Every module here runs unchanged on CPython (sim/, host tests) and on MicroPython (the firmware
tests load them into the WebAssembly interpreter), so they use only what both share: no
dataclasses, no ``from __future__``, no ``int.from_bytes(..., signed=...)``. Read paths fill the
caller's buffer byte by byte from state computed when a value is set, so a firmware loop that
reads them can run under ``micropython.heap_lock()``.
"""
