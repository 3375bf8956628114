"""Garbage-collector settings for a serving process: freeze the startup heap, collect less often.

Measured under load (benchmarks/, 16 connections, one server CPU): with CPython's defaults the
objects of in-flight requests survive the young collections (700 allocations pass within one
request) and count towards full ones, which walk every module, class and function loaded at
startup as well. Those pauses were most of the p99 latency (about 25 ms against a p50 of 8;
10-14 ms once tuned) and ~10% of the CPU (0.55 against 0.49 ms per ``tools/call``); with
10,000 open streams, one notification fanned out to all of them took 2.2-3.2 s with the
defaults and 1.1-1.3 s tuned (two full runs).
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "tune_gc"]

#: Allocations (net of deallocations) between young collections once tuned; CPython's default
#: is 700. Larger lets a request's objects die by reference counting before any collection.
YOUNG_THRESHOLD = 20_000

_froze = False  # the heap is frozen once per process: the first call's, the startup heap


def tune_gc() -> None:
    """Tune the process's garbage collector for serving, once the application is loaded.

    The first call in a process collects, then freezes what is alive (``gc.freeze``: the
    modules, the application and the server's own objects are never scanned again, though
    reference counting still frees them); later calls (a server started again in the same
    process) freeze nothing more. Each raises the young generation's threshold to 20,000
    allocations (CPython's default is 700); a larger one set before is kept, and so is 0
    (automatic collection turned off). The cost: cyclic garbage made of objects alive at the
    first call is never collected, and up to 20,000 young objects wait for a collection.
    Process-wide, so :func:`~trio_mcp_http.serve` does it only when asked (``tune_gc=True``); the
    ``trio-mcp-http`` command does it unless ``--no-tune-gc`` is given. Under
    ``hypercorn -k trio``, call it at the end of the module that builds the application.
    """
    global _froze  # noqa: PLW0603 (once per process, by design)
    if not _froze:
        _froze = True
        gc.collect()
        gc.freeze()
    young, middle, old = gc.get_threshold()
    if young:
        gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
