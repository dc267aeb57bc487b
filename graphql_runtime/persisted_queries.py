"""Apollo APQ: the operation's document filled in from extensions.persistedQuery.

It comes first in the operation's lifecycle (graphql_runtime/operation.py): when it refuses a request
(unknown hash, hash mismatch, not allow-listed) it raises before anything else has started, so
no transaction is left open, and the error already carries its extensions.code.

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
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.types import ExecutionContext

from domain.errors import DomainError
from domain.persisted_queries import Resolved, register, resolve
from graphql_runtime.context import Context

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


async def resolve_document(ec: ExecutionContext) -> Resolved:
    """Fill in the operation's document from extensions.persistedQuery (or what its websocket
    message resolved to); refusals (unknown hash, mismatch, not allow-listed) raise with their
    code before anything else of the operation has started."""
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
    return resolved


async def store_new(ec: ExecutionContext, resolved: Resolved | None) -> str | None:
    """When execution starts (rate limit passed, document valid): store a document sent under a
    new hash. Returns why it was not stored, if it was not."""
    if resolved is None or resolved.new_digest is None or resolved.document is None:
        return None
    context: Context = ec.context
    return await register(
        context.resources, context.principal, context.client_address, resolved.new_digest, resolved.document
    )


def results(not_stored: str | None) -> dict[str, Any]:
    """The response's `extensions` entry."""
    if not_stored is None:
        return {}
    return {"persistedQuery": {"stored": False, "code": not_stored}}
