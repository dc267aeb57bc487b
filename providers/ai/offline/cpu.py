"""Where the offline providers' CPU work runs: in worker processes (media.processes).

Script writing, picture drawing and speech synthesis are CPU-bound; on the event loop they would
stall every request of the process, and in a thread their Python parts would take the GIL from
it (the API and the in-process worker share the process). The pool is bounded: PROCESSES jobs
at a time, the rest wait in its queue without blocking anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from media import processes

T = TypeVar("T")


async def run(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` in a worker process: `fn` and its arguments must be picklable."""
    return await processes.run(fn, *args)
