"""Apollo APQ as a schema extension: fills in the document from extensions.persistedQuery.

It must come first in the schema's extension list: when it refuses a request (unknown hash,
hash mismatch, not allow-listed) it raises before any other extension has started, so no
transaction is left open, and the error already carries its extensions.code.

A document the caller sent under a new hash is stored later, when execution starts: by then the
operation rate limit has let it through and the document parsed and validated (a throttled
caller, or an invalid document, stores nothing). Over the caller's quota (or size cap) it is not
stored, the operation still runs, and the response says so in
`extensions.persistedQuery {stored: false, code}`.

Over websockets strawberry passes no extensions to the schema: the socket handler resolves the
hash itself and hands what is to be stored over with `socket_operation(resolved)`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from domain.errors import DomainError
from domain.persisted_queries import Resolved, register, resolve
from schema.context import Context

_from_socket: contextvars.ContextVar[Resolved | None] = contextvars.ContextVar(
    "persisted_query_from_socket", default=None
)


@contextlib.contextmanager
def socket_operation(resolved: Resolved | None) -> Iterator[None]:
    """Around starting one websocket operation (its task copies the context): the extension
    of that operation sees what its `subscribe` message resolved to."""
    token = _from_socket.set(resolved)
    try:
        yield
    finally:
        _from_socket.reset(token)


class PersistedQueries(SchemaExtension):
    _new: Resolved | None = None
    _not_stored: str | None = None

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        ec = self.execution_context
        context: Context = ec.context
        persisted = (ec.operation_extensions or {}).get("persistedQuery")
        if persisted is None and (from_socket := _from_socket.get()) is not None:
            resolved: Resolved = from_socket
        else:
            try:
                resolved = await resolve(context.resources, context.principal, persisted, ec.query)
            except DomainError as exc:
                raise GraphQLError(exc.message, extensions={**exc.extensions, "code": exc.code}) from None
        if resolved.document is not None:
            ec.query = resolved.document
        if resolved.new_digest is not None:
            self._new = resolved
        yield

    async def on_execute(self) -> AsyncIterator[None]:  # type: ignore[override]
        new = self._new
        if new is not None and new.new_digest is not None and new.document is not None:
            context: Context = self.execution_context.context
            self._not_stored = await register(
                context.resources, context.principal, context.client_address, new.new_digest, new.document
            )
        yield

    def get_results(self) -> dict[str, Any]:
        if self._not_stored is None:
            return {}
        return {"persistedQuery": {"stored": False, "code": self._not_stored}}
