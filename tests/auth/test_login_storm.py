"""Password hashing never runs on the event loop: a burst of sign-ins waits for the hashing
threads (a bounded number at a time, the rest queued, beyond that refused with THROTTLED) while
the loop keeps serving everything else."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from domain import passwords
from tests.auth.helpers import PASSWORD, codes, login, register

LOGINS = 20


class BlockedHashing:
    """Stands in for argon2 verification: records where and how many run at once, and holds
    each one until released."""

    def __init__(self, original: Callable[..., bool]) -> None:
        self.original = original
        self.release = threading.Event()
        self.changed = threading.Condition()
        self.running = self.peak = 0
        self.threads: set[int] = set()

    def __call__(self, *args: Any) -> bool:
        with self.changed:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.threads.add(threading.get_ident())
            self.changed.notify_all()
        try:
            if threading.get_ident() != LOOP_THREAD[0]:  # never block the loop (the old code)
                self.release.wait(60)
            return self.original(*args)
        finally:
            with self.changed:
                self.running -= 1
                self.changed.notify_all()

    async def until_running(self, n: int) -> bool:
        def wait() -> bool:
            with self.changed:
                return self.changed.wait_for(lambda: self.running >= n, timeout=30)

        return await asyncio.to_thread(wait)


LOOP_THREAD = [0]


async def _ticks_while(condition: Callable[[], bool], ticks_wanted: int) -> int:
    """Spin the loop until `ticks_wanted` scheduling rounds passed (or condition fails)."""
    ticks = 0
    while ticks < ticks_wanted and condition():
        ticks += 1
        await asyncio.sleep(0)
    return ticks


async def test_sign_ins_hash_in_a_bounded_pool_while_the_loop_runs(pooled_resources, monkeypatch):
    resources = pooled_resources
    LOOP_THREAD[0] = threading.get_ident()
    reg = await register(resources)
    hashing = BlockedHashing(passwords.verify_password_sync)
    monkeypatch.setattr(passwords, "verify_password_sync", hashing)
    tasks = [asyncio.create_task(login(resources, reg["user"]["username"])) for _ in range(LOGINS)]
    assert await hashing.until_running(passwords.HASH_THREADS)
    # Every hashing thread is held: the loop still schedules other work, and no more start.
    assert await _ticks_while(lambda: not any(t.done() for t in tasks), 500) == 500
    assert hashing.peak == passwords.HASH_THREADS and LOGINS > passwords.HASH_THREADS
    hashing.release.set()
    results = await asyncio.gather(*tasks)
    assert [r.errors for r in results] == [None] * LOGINS
    assert LOOP_THREAD[0] not in hashing.threads and len(hashing.threads) <= passwords.HASH_THREADS


async def test_a_sign_in_storm_beyond_the_queue_is_shed_with_throttled(pooled_resources, monkeypatch):
    resources = pooled_resources
    LOOP_THREAD[0] = threading.get_ident()
    reg = await register(resources)
    monkeypatch.setattr(passwords, "MAX_WAITING", 3)
    admitted = passwords.HASH_THREADS + 3
    hashing = BlockedHashing(passwords.verify_password_sync)
    monkeypatch.setattr(passwords, "verify_password_sync", hashing)
    tasks = [asyncio.create_task(login(resources, reg["user"]["username"], PASSWORD)) for _ in range(LOGINS)]
    assert await hashing.until_running(passwords.HASH_THREADS)
    shed = await asyncio.wait_for(_first_done(tasks, LOGINS - admitted), 60)
    assert all(codes(t.result()) == ["THROTTLED"] for t in shed)
    assert all(t.result().errors[0].extensions["retryAfter"] == 1 for t in shed)
    hashing.release.set()
    results = await asyncio.gather(*tasks)
    assert sum(r.errors is None for r in results) == admitted


async def _first_done(tasks: list[asyncio.Task[Any]], n: int) -> list[asyncio.Task[Any]]:
    pending = set(tasks)
    done: list[asyncio.Task[Any]] = []
    while len(done) < n:
        finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        done.extend(finished)
    return done
