"""Every GraphQL operation's lifecycle, in one extension, in this order:

1. persisted query: the document filled in from its hash, or the request refused
   (graphql_runtime/persisted_queries.py);
2. admission: the caller counted against its ceiling (THROTTLED), a websocket's token
   re-checked (graphql_runtime/rate_limit.py);
3. unit of work: a session on first use, commit or rollback, then after-commit work
   (graphql_runtime/unit_of_work.py), around parsing and validation from the document cache
   (graphql_runtime/document_cache.py) and execution, where a new persisted document is stored;
4. error codes given on the way out, and to each subscription event (graphql_runtime/errors.py);
5. the outcome counted, refusals included (graphql_runtime/metrics.py).

One extension rather than five: strawberry builds a wrapper for every hook of every extension
on every request, which cost more than the hooks themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from domain.persisted_queries import Resolved
from graphql_runtime import document_cache, errors, metrics, persisted_queries, rate_limit
from graphql_runtime.document_cache import DocumentStore
from graphql_runtime.unit_of_work import unit_of_work


class OperationLifecycle(SchemaExtension):
    store: DocumentStore
    """Set by `factory`: the schema's document cache."""

    _resolved: Resolved | None = None
    _entry: Any = None
    _not_stored: str | None = None
    _streamed = False

    @classmethod
    def factory(cls, store: DocumentStore) -> type[OperationLifecycle]:
        return type("OperationLifecycle", (cls,), {"store": store})

    async def on_operation(self) -> AsyncIterator[None]:
        ec = self.execution_context
        try:
            self._resolved = await persisted_queries.resolve_document(ec)
            await rate_limit.admit_operation(ec.context)
            document_cache.prepare(ec, self.store)
            async with unit_of_work(ec):
                yield
            if not self._streamed:
                errors.classify_result(ec.result)
            errors.classify_pre_execution(ec)
        except Exception as exc:
            metrics.count(ec, exc)
            raise
        metrics.count(ec)

    def on_parse(self) -> Iterator[None]:
        self._entry = document_cache.parsed(self.execution_context, self.store)
        yield

    def on_validate(self) -> Iterator[None]:
        document_cache.validated(self.execution_context, self.store, self._entry)
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        self._not_stored = await persisted_queries.store_new(self.execution_context, self._resolved)
        yield

    def on_stream_result(self, result: object) -> Iterator[None]:
        """Subscription events (and their errors) pass here, not through on_operation's result."""
        self._streamed = True
        errors.classify_result(result)
        yield None

    def get_results(self) -> dict[str, Any]:
        return persisted_queries.results(self._not_stored)
