"""PostgreSQL advisory locks held on a connection of their own.

A lock lives as long as its connection: if the process holding it dies, PostgreSQL drops the
connection and the lock with it, so a crashed worker never blocks the work forever.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@contextlib.asynccontextmanager
async def advisory_lock(engine: AsyncEngine, key: str) -> AsyncIterator[bool]:
    """Try to take the lock named `key`; yields whether it was taken (never waits)."""
    async with engine.connect() as conn:
        got = bool(
            await conn.scalar(text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"), {"k": key})
        )
        await conn.commit()
        try:
            yield got
        finally:
            if got:
                with contextlib.suppress(Exception):
                    await conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": key})
                    await conn.commit()
