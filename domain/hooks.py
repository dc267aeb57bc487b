"""The domain's hook mechanism: work that runs around the caller's transaction.

The domain never commits and never starts side effects (enqueueing jobs, publishing events,
Redis flags, mail, deleting files) inside a transaction: it registers them here, and the
caller runs them once its transaction has committed (`after_commit`), or in any case
(`regardless`, for records that must survive a rollback, in a transaction of their own).
graphql_runtime.context.Context provides both for GraphQL operations; ImmediateHooks for the CLI and tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol


class Hooks(Protocol):
    """What the caller runs around the transaction (graphql_runtime.context.Context provides both)."""

    def after_commit(self, fn: Callable[[], Awaitable[None]]) -> None: ...

    def regardless(self, fn: Callable[[], Awaitable[None]]) -> None: ...


class ImmediateHooks:
    """For callers without a unit of work (CLI, tests): collect, then `run()` after committing."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], Awaitable[None]]] = []

    def after_commit(self, fn: Callable[[], Awaitable[None]]) -> None:
        self.pending.append(fn)

    def regardless(self, fn: Callable[[], Awaitable[None]]) -> None:
        self.pending.append(fn)

    async def run(self) -> None:
        for fn in self.pending:
            await fn()
        self.pending.clear()
