"""Engine and session factory. One transaction per request or job: the caller commits."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def make_engine(url: str, *, pool_size: int = 20, echo: bool = False) -> AsyncEngine:
    """A fixed pool: past `pool_size` busy connections, callers queue for one. Overflow
    connections would be opened and closed again under load, and a PostgreSQL connection costs
    a backend process and the re-preparing of every statement: under 64 concurrent requests
    that churn, not the queries, was the cost."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        # No pre-ping: it costs a round trip (BEGIN + ROLLBACK) on every checkout. A connection
        # that died with its server fails one statement; SQLAlchemy then invalidates the whole
        # pool, so the next checkouts get fresh connections.
        pool_pre_ping=False,
        pool_recycle=1800,
        echo=echo,
        # Statement errors and echo never print bound values (password hashes, e-mails, tokens).
        hide_parameters=True,
        connect_args={"server_settings": {"application_name": "autovideo", "timezone": "UTC"}},
    )


class SerialSession(AsyncSession):
    """An AsyncSession that runs one database call at a time.

    graphql-core resolves sibling fields concurrently and DataLoaders of different types
    dispatch in the same tick, all on the operation's one session; a plain AsyncSession
    raises when two calls overlap. Each method that reaches the database takes the lock;
    `scalars` and `stream_scalars` go through `execute`/`stream`, so they are not wrapped again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._io_lock = asyncio.Lock()


def _serialised(name: str) -> None:
    original = getattr(AsyncSession, name)

    @functools.wraps(original)
    async def method(self: SerialSession, *args: Any, **kwargs: Any) -> Any:
        async with self._io_lock:
            return await original(self, *args, **kwargs)

    setattr(SerialSession, name, method)


for _name in (
    "execute",
    "scalar",
    "get",
    "get_one",
    "stream",
    "refresh",
    "run_sync",
    "delete",
    "delete_all",
    "merge",
    "merge_all",
    "flush",
    "commit",
    "rollback",
    "close",
    "connection",
):
    _serialised(_name)


def make_sessionmaker(engine: AsyncEngine, *, autocommit: bool = False) -> async_sessionmaker[AsyncSession]:
    """`autocommit`: for reads only: each statement runs on its own, no BEGIN/COMMIT."""
    bind = engine.execution_options(isolation_level="AUTOCOMMIT") if autocommit else engine
    # expire_on_commit=False: objects stay readable after commit, when events are published.
    return async_sessionmaker(bind, expire_on_commit=False, class_=SerialSession)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits on success and rolls back on any error."""
    async with factory() as session, session.begin():
        yield session


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
