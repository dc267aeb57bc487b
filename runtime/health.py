"""Readiness: each dependency checked with a short timeout, results reported separately."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from persistence.db import ping

if TYPE_CHECKING:
    from runtime.resources import Resources


async def _check(fn: Callable[[], Awaitable[Any]], limit: float = 2.0) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(fn(), limit)
        return {"ok": True, "ms": round((time.perf_counter() - start) * 1000, 1)}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


async def readiness(resources: Resources) -> dict[str, dict[str, Any]]:
    database, redis, storage = await asyncio.gather(
        _check(lambda: ping(resources.engine)),
        _check(lambda: resources.redis.ping()),
        _check(lambda: resources.storage.ping()),
    )
    return {"database": database, "redis": redis, "storage": storage}
