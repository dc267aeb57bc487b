"""One transaction per GraphQL operation: opened before execution, committed when the
operation produced no error, rolled back otherwise; after-commit work runs only after a commit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from graphql import OperationType
from strawberry.extensions import SchemaExtension

from schema.context import Context, Operation, current_operation

log = logging.getLogger(__name__)


class UnitOfWork(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        context: Context = self.execution_context.context
        # Subscriptions open their own short transactions per event instead of holding one.
        from schema.loaders import Loaders

        await context.refresh_principal()
        session = context.resources.sessionmaker()
        op = Operation(session=session, loaders=Loaders(session, context.principal, context.resources))
        token = current_operation.set(op)
        committed = False
        try:
            yield
            result = self.execution_context.result
            errors = getattr(result, "errors", None) if result is not None else None
            try:
                is_subscription = self.execution_context.operation_type == OperationType.SUBSCRIPTION
            except RuntimeError:  # the document did not parse: nothing ran
                is_subscription = False
            if not errors and not is_subscription and session.in_transaction():
                await session.commit()
                committed = True
            elif session.in_transaction():
                await session.rollback()
        finally:
            await session.close()
            try:
                current_operation.reset(token)
            except ValueError:  # a subscription closed from another task than the one it ran in
                current_operation.set(None)
        for fn in op.always:
            try:
                await fn()
            except Exception:
                log.exception("post-operation task failed")
        if committed:
            for fn in op.after_commit:
                try:
                    await fn()
                except Exception:
                    log.exception("after-commit task failed")
