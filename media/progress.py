"""Progress that crosses the process boundary: a worker process (a render, a speech synthesis)
writes how far it is to a small file; the stage, on the event loop, polls it and publishes.

A file rather than a multiprocessing queue: the pool's workers are shared and long-lived (a
queue would have to be handed over at pool start), the object pickles as just a path, and a
reader that comes and goes (a retried stage) needs no handshake. Writes are throttled and
atomic (write + rename), reads never see half a value."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

WRITE_INTERVAL = 0.2  # seconds between writes (the reader polls at its own pace)


class ProgressFile:
    """`report(done, total)` from any process or thread; `read()` gives the latest (done, total)."""

    def __init__(self, path: Path | None = None, interval: float = WRITE_INTERVAL) -> None:
        self.path = Path(path or Path(tempfile.gettempdir()) / f"autovideo-progress-{uuid.uuid4().hex}")
        self.interval = interval
        self._last: float | None = None
        self._lock: threading.Lock | None = None

    def __getstate__(self) -> dict[str, object]:
        return {"path": self.path, "interval": self.interval}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.path = Path(str(state["path"]))
        self.interval = float(state["interval"])  # type: ignore[arg-type]
        self._last = None
        self._lock = None

    def report(self, done: float, total: float) -> None:
        """Record progress; dropped if the last write was under `interval` ago (the final value,
        done >= total, is always written)."""
        now = time.monotonic()
        if done < total and self._last is not None and now - self._last < self.interval:
            return
        if self._lock is None:
            self._lock = threading.Lock()
        with self._lock:
            self._last = now
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
            try:
                tmp.write_text(f"{done:.3f} {total:.3f}", encoding="ascii")
                os.replace(tmp, self.path)
            except OSError:
                tmp.unlink(missing_ok=True)  # progress is best effort: never fail the work for it

    def read(self) -> tuple[float, float] | None:
        try:
            done, total = self.path.read_text(encoding="ascii").split()
            return float(done), float(total)
        except (OSError, ValueError):
            return None

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


async def follow(
    progress: ProgressFile,
    work: Awaitable[T],
    on_progress: Callable[[float, float], Awaitable[None]],
    *,
    poll: float = 0.25,
) -> T:
    """Await `work` while calling `on_progress(done, total)` whenever the file shows more done.

    The file is read on the event loop: a stat and a 20-byte read, every `poll` seconds."""
    task = asyncio.ensure_future(work)
    last: float | None = None
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=poll)
            value = progress.read()
            if value is not None and value[1] > 0 and (last is None or value[0] > last):
                last = value[0]
                await on_progress(*value)
            if done:
                return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        progress.clear()
