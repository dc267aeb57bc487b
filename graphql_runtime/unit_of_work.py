"""One transaction per GraphQL operation: opened on first use, committed when the operation
produced no error, rolled back otherwise; after-commit work runs only after a commit (or when
the operation succeeded without writing anything)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from graphql_runtime.context import Context, Operation, current_operation

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def unit_of_work(ec: ExecutionContext) -> AsyncIterator[None]:
    """Around the operation's parsing, validation and execution. Subscriptions open their own
    short transactions per event instead of holding one."""
    context: Context = ec.context
    op = Operation(context, read_only=lambda: _operation_type(ec) == OperationType.QUERY)
    token = current_operation.set(op)
    succeeded = False
    try:
        yield
        result = ec.result
        errors = getattr(result, "errors", None) if result is not None else None
        succeeded = result is not None and not errors and _operation_type(ec) != OperationType.SUBSCRIPTION
        session = op.opened
        if session is not None and session.in_transaction():
            if succeeded:
                await session.commit()
            else:
                await session.rollback()
    finally:
        if op.opened is not None:
            await op.opened.close()
        try:
            current_operation.reset(token)
        except ValueError:  # a subscription closed from another task than the one it ran in
            current_operation.set(None)
    for fn in op.always:
        try:
            await fn()
        except Exception:
            log.exception("post-operation task failed")
    if succeeded:
        for fn in op.after_commit:
            try:
                await fn()
            except Exception:
                log.exception("after-commit task failed")


def _operation_type(ec: ExecutionContext) -> OperationType | None:
    try:
        return ec.operation_type
    except RuntimeError:  # the document did not parse: nothing ran
        return None
