"""Apollo APQ as a schema extension: fills in the document from extensions.persistedQuery.

It must come first in the schema's extension list: when it refuses a request (unknown hash,
hash mismatch, not allow-listed) it raises before any other extension has started, so no
transaction is left open, and the error already carries its extensions.code."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from domain.errors import DomainError
from domain.persisted_queries import resolve
from schema.context import Context


class PersistedQueries(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        ec = self.execution_context
        context: Context = ec.context
        persisted = (ec.operation_extensions or {}).get("persistedQuery")
        try:
            document = await resolve(context.resources, context.principal, persisted, ec.query)
        except DomainError as exc:
            raise GraphQLError(exc.message, extensions={**exc.extensions, "code": exc.code}) from None
        if document is not None:
            ec.query = document
        yield
