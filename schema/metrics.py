"""`autovideo_graphql_operations_total{type,outcome}`: every operation, refused ones included.

It must be the outermost extension: extensions leave in reverse order, so only the first one
sees the error codes ErrorCodes assigns, and the errors of extensions that refuse a request
(persisted queries, rate limits) by raising."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from prometheus_client import Counter
from strawberry.extensions import SchemaExtension

from runtime.telemetry import metric

GRAPHQL_OPERATIONS = metric(
    Counter,
    "autovideo_graphql_operations_total",
    "GraphQL operations by type and outcome (ok, or the first error's code)",
    ["type", "outcome"],
)


def _code(error: GraphQLError) -> str:
    return str((error.extensions or {}).get("code") or "INTERNAL_SERVER_ERROR")


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except GraphQLError as exc:
            self._count(_code(exc))
            raise
        except Exception:
            self._count("INTERNAL_SERVER_ERROR")
            raise
        ec = self.execution_context
        errors = list(getattr(ec.result, "errors", None) or []) + list(
            getattr(ec, "pre_execution_errors", None) or []
        )
        self._count(_code(errors[0]) if errors else "ok")

    def _count(self, outcome: str) -> None:
        try:
            kind = self.execution_context.operation_type.value  # query, mutation, subscription
        except Exception:  # the document did not parse, or a refusal came first
            kind = "unknown"
        GRAPHQL_OPERATIONS.labels(kind, outcome).inc()
