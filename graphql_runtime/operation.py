"""Every GraphQL operation's lifecycle, in one extension, in this order:

1. persisted query: the document filled in from its hash, or the request refused
   (graphql_runtime/persisted_queries.py);
2. once the document is validated: its cost (graphql_runtime/operation_cost.py;
   QUERY_TOO_COMPLEX over the maximum), then admission in one Redis round trip: the token
   re-checked, the caller counted against its ceiling and charged the cost (THROTTLED)
   (graphql_runtime/rate_limit.py); a
   document that does not validate is admitted with cost 1, one that does not parse as its
   result is made (get_results); `extensions.cost` on every result;
3. unit of work: a session on first use, commit or rollback, then after-commit work
   (graphql_runtime/unit_of_work.py), around parsing and validation from the document cache
   (graphql_runtime/document_cache.py) and execution, where a new persisted document is stored;
4. error codes given on the way out, and to each subscription event (graphql_runtime/errors.py);
5. the outcome counted, refusals included (graphql_runtime/metrics.py).

One extension rather than five: strawberry builds a wrapper for every hook of every extension
on every request, which cost more than the hooks themselves."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from domain.errors import DomainError
from domain.persisted_queries import Resolved
from domain.rate_budget import Budget
from graphql_runtime import document_cache, errors, metrics, operation_cost, persisted_queries, rate_limit
from graphql_runtime.document_cache import DocumentStore
from graphql_runtime.unit_of_work import unit_of_work
from runtime import log_fields


class OperationLifecycle(SchemaExtension):
    store: DocumentStore
    """Set by `factory`: the schema's document cache."""

    _resolved: Resolved | None = None
    _entry: Any = None
    _not_stored: str | None = None
    _streamed = False
    _admitted = False
    _requested: int | None = None
    _budget: Budget | None = None

    @classmethod
    def factory(cls, store: DocumentStore) -> type[OperationLifecycle]:
        return type("OperationLifecycle", (cls,), {"store": store})

    async def on_operation(self) -> AsyncIterator[None]:
        ec = self.execution_context
        try:
            try:
                self._resolved = await persisted_queries.resolve_document(ec)
            except Exception:
                await self._admit(1)  # refused requests are admitted (and charged) all the same
                raise
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

    async def _admit(self, cost: int) -> None:
        """The one admission of the operation (THROTTLED, UNAUTHENTICATED raised from here)."""
        if self._admitted:
            return
        self._admitted = True
        ec = self.execution_context
        try:
            self._budget = await rate_limit.admit_operation(ec.context, cost)
        except GraphQLError as exc:
            self._budget = getattr(exc, "budget", None)
            raise
        except Exception as exc:  # Redis away while checking a token: SERVICE_UNAVAILABLE
            raise errors.classify(GraphQLError(str(exc), original_error=exc)) from exc
        finally:  # the request's log lines name its user and operation (runtime/log_fields.py)
            log_fields.bind(ec.context.principal.user_id, ec.operation_name)

    def on_parse(self) -> Iterator[None]:
        self._entry = document_cache.parsed(self.execution_context, self.store)
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        ec = self.execution_context
        document_cache.validated(ec, self.store, self._entry)
        refusal = None
        if ec.pre_execution_errors:
            cost = 1
        else:
            try:
                cost = self._requested = operation_cost.requested(ec, self._entry)
            except DomainError as exc:
                cost, refusal = 1, operation_cost.as_error(exc)
            if refusal is None:
                refusal = operation_cost.too_complex(cost, ec.context.resources.settings.max_query_cost)
                if refusal is not None:
                    cost = 1  # refused before it runs: charged as an invalid document
        try:
            await self._admit(cost)
        except GraphQLError as exc:
            refusal = exc
        if refusal is not None:
            ec.pre_execution_errors = [refusal]  # strawberry answers it; nothing runs
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        self._not_stored = await persisted_queries.store_new(self.execution_context, self._resolved)
        yield

    def on_stream_result(self, result: object) -> Iterator[None]:
        """Subscription events (and their errors) pass here, not through on_operation's result."""
        self._streamed = True
        errors.classify_result(result)
        yield None

    async def get_results(self) -> dict[str, Any]:
        if not self._admitted:  # a syntax error (strawberry answered it): admitted, charged 1
            with contextlib.suppress(GraphQLError):  # the syntax error is the answer
                await self._admit(1)
        results = persisted_queries.results(self._not_stored)
        results["cost"] = operation_cost.extension(self._requested, self._budget, self.execution_context)
        return results
