"""CPU-bound production work (rendering, drawing, speech synthesis, script writing) runs in
worker processes, not threads.

`autovideo serve` runs the API and a worker in one process. In a thread, the Python parts of
that work (Pillow, NumPy, onnxruntime's wrapper, the renderer's frame preparation) hold the GIL
for 5 ms at a time, and each time the event loop lets the GIL go (every socket write) it waits
for a slice to end before it gets it back: with 1,000 websocket subscribers, one progress event
took over a second to reach them all while a picture was being drawn. A process has a GIL of
its own; the event loop only waits for the result.

The pool is made on first use (`spawn`, so no thread state is forked), at most `PROCESSES`
jobs run at once, the rest queue. Functions and their arguments must be picklable: top-level
functions, plain data, `CancelFlag` instead of `threading.Event`."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import multiprocessing
import os
import signal
import tempfile
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PROCESSES = max(1, min(4, os.cpu_count() or 1))

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


NICENESS = 10
"""Worker processes (and the ffmpeg they start) yield the CPU to the API under contention: a
render may take a little longer, a request or a progress event does not wait for it."""


def _child_init() -> None:
    # Ctrl-C goes to the whole process group: the parent decides, the children do not print
    # tracebacks of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)


def pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                PROCESSES, mp_context=multiprocessing.get_context("spawn"), initializer=_child_init
            )
        return _pool


def shutdown() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None


atexit.register(shutdown)


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a worker process; its exception is re-raised here."""
    call = functools.partial(fn, *args, **kwargs) if kwargs else functools.partial(fn, *args)
    return await asyncio.get_running_loop().run_in_executor(pool(), call)


def _load(modules: tuple[str, ...]) -> int:
    import importlib
    import time

    for name in modules:
        importlib.import_module(name)
    time.sleep(0.2)  # hold this process a moment, so the next warm-up task starts another
    return os.getpid()


async def warm_up(modules: tuple[str, ...]) -> None:
    """Start every worker process now and import what its jobs need: a process started in the
    middle of a render (the pool starts them on demand) costs a second of CPU just when
    progress events are being sent."""
    loop = asyncio.get_running_loop()
    await asyncio.gather(
        *(loop.run_in_executor(pool(), _load, modules) for _ in range(PROCESSES)), return_exceptions=True
    )


class CancelFlag:
    """A cancel signal that crosses processes, with `threading.Event`'s `set`/`is_set`: a file
    that exists once set. The renderer polls it while ffmpeg runs."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path(tempfile.gettempdir()) / f"autovideo-cancel-{uuid.uuid4().hex}"

    def set(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    def is_set(self) -> bool:
        return self.path.exists()

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
