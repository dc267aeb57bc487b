"""Every transaction the domain opens itself goes through here, saying why it is separate.

The rule is one transaction per request or job, opened and committed by the caller (the GraphQL
unit of work in graphql_runtime/unit_of_work.py, the jobs): the domain never commits. A few pieces of work
cannot share the caller's transaction, and each call names its reason (`why`), one of:

- AUTHENTICATION: runs before the operation's transaction exists (tokens, API keys, persisted
  queries are resolved before the operation is parsed);
- SURVIVES_ROLLBACK: a record that must stay even when the operation fails (audit of a failed
  login, a quota reservation taken before a provider call);
- NOT_HELD_ACROSS_IO: work around a slow call (a provider call, an upload, a stream) that must not
  hold a connection or row locks while it waits;
- STREAM: a subscription, which holds no transaction between its events.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

Why = Literal["AUTHENTICATION", "SURVIVES_ROLLBACK", "NOT_HELD_ACROSS_IO", "STREAM"]


@contextlib.asynccontextmanager
async def separate_transaction(
    sessions: async_sessionmaker[AsyncSession], *, why: Why
) -> AsyncIterator[AsyncSession]:
    """A transaction of its own: committed when the block ends normally, rolled back on an error."""
    async with sessions() as session, session.begin():
        yield session


@contextlib.asynccontextmanager
async def separate_read(
    sessions: async_sessionmaker[AsyncSession], *, why: Why
) -> AsyncIterator[AsyncSession]:
    """A session of its own that only reads: nothing it does is committed."""
    async with sessions() as session:
        yield session
