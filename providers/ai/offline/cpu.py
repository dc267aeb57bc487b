"""Where the offline providers' CPU work runs: off the event loop, in a small pool of its own.

Script writing, picture drawing and speech synthesis are CPU-bound; on the loop they would stall
every request of the process (the API and the in-process worker share it). The pool is bounded
(CPU_THREADS at a time, the rest wait in its queue without blocking anything) and separate from
asyncio's default pool, so a burst of studio calls cannot take the threads that file I/O uses."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

CPU_THREADS = max(1, min(4, os.cpu_count() or 1))

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(CPU_THREADS, thread_name_prefix="offline-ai")
        return _executor


async def run(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` in the pool (with the caller's context variables, e.g. the trace span)."""
    call = functools.partial(contextvars.copy_context().run, fn, *args)
    return await asyncio.get_running_loop().run_in_executor(_pool(), call)
