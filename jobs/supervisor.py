"""Keeps a worker working through Redis outages, without a process restart.

ARQ's main loop ends at the first Redis error (and leaks a job slot when the error hits while
it starts a job), so on its own a worker stops for good when Redis goes away. The supervisor
runs a fresh ARQ worker each time the loop ends; between two it waits until Redis answers,
then re-enqueues at once the work whose enqueue failed meanwhile — the current stage of every
video in flight whose job is gone and lost publications (`reconcile(..., recovering=True)` and
`publish_due`). Nothing is lost: PostgreSQL holds each video's stage, and the reconciler
re-creates a missing job from it. Nothing is duplicated: a stage runs under its advisory lock
and a finished stage only hands on.

Jobs the ended loop had started keep running to completion (their stage's work is not thrown
away); their ARQ bookkeeping catches up once Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from arq.worker import Worker

from domain.availability import unavailable_dependency

if TYPE_CHECKING:
    from runtime.resources import Resources

log = logging.getLogger(__name__)

CHECK_EVERY = 0.5
"""Seconds between two Redis pings while waiting, doubling up to MAX_WAIT."""
MAX_WAIT = 5.0


class SupervisedWorker:
    def __init__(self, resources: Resources, *, handle_signals: bool = False, **worker_kw: Any) -> None:
        self.resources = resources
        self.handle_signals = handle_signals
        self.worker_kw = worker_kw
        self.current: Worker | None = None
        self.retired: list[Worker] = []
        self.restarts = 0
        self.recovered = asyncio.Event()
        """Set each time a restart's recovery pass has run (tests wait on it)."""
        self._stopping = False

    def _new_worker(self) -> Worker:
        from jobs.worker import make_worker

        return make_worker(self.resources, handle_signals=self.handle_signals, **self.worker_kw)

    async def run(self) -> None:
        """Until stopped (close(), or a signal with handle_signals) or a burst worker's queue is empty."""
        failures = 0
        while not self._stopping:
            worker = self.current = self._new_worker()
            try:
                await worker.async_run()
                return  # burst: the queue is empty
            except asyncio.CancelledError:
                raise  # stopped
            except Exception as exc:
                if self._stopping:
                    return
                dependency = unavailable_dependency(exc)
                if dependency is None:
                    failures += 1
                    log.exception("worker loop failed; starting a new one")
                    await asyncio.sleep(min(MAX_WAIT * 6, CHECK_EVERY * 2**failures))
                else:
                    log.warning("worker lost %s (%s); waiting for it", dependency, type(exc).__name__)
            await self._retire(worker)
            await self._wait_for_redis()
            if self._stopping:
                return
            await self._recover()
            self.restarts += 1

    async def _retire(self, worker: Worker) -> None:
        """Keep the ended loop's running jobs; drop workers whose jobs are all done."""
        self.retired.append(worker)
        for old in list(self.retired):
            if all(t.done() for t in old.tasks.values()):
                for t in old.tasks.values():
                    if not t.cancelled():
                        t.exception()  # retrieved: a job that died with Redis is not news twice
                self.retired.remove(old)
                await _close_pool(old)

    async def _wait_for_redis(self) -> None:
        delay = CHECK_EVERY
        while not self._stopping:
            try:
                await self.resources.redis.ping()
                log.warning("Redis is back; resuming the worker")
                return
            except Exception:
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_WAIT)

    async def _recover(self) -> None:
        """Re-enqueue what an outage stranded, now rather than at the next cron round."""
        from jobs import publishing, video

        ctx = {"resources": self.resources}
        try:
            count = await video.reconcile(ctx, recovering=True)
            count += await publishing.publish_due(ctx)
            if count:
                log.warning("re-enqueued %d job(s) after the outage", count)
        except Exception as exc:
            # Still unreachable, or PostgreSQL is the one away: the cron reconciler retries.
            log.warning("recovery pass failed (%s); the reconciler will retry", type(exc).__name__)
        finally:
            self.recovered.set()

    async def close(self) -> None:
        self._stopping = True
        if self.current is not None:
            try:
                await self.current.close()
            except asyncio.CancelledError:
                # ARQ's close() gathers the jobs it just cancelled; only our own cancellation counts.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
            except Exception:
                pass  # Redis away: close() stops before closing its pool
            await _close_pool(self.current)
        for old in self.retired:
            for t in old.tasks.values():
                t.cancel()
            await asyncio.gather(*old.tasks.values(), return_exceptions=True)
            await _close_pool(old)
        self.retired.clear()


async def _close_pool(worker: Worker) -> None:
    pool = getattr(worker, "_pool", None)
    if pool is not None:
        with contextlib.suppress(Exception):
            await pool.close(close_connection_pool=True)
        worker._pool = None
