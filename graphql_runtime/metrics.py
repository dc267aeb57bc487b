"""`autovideo_graphql_operations_total{type,outcome}`: every operation, refused ones included.

It must be the outermost extension: extensions leave in reverse order, so only the first one
sees the error codes ErrorCodes assigns, and the errors of extensions that refuse a request
(persisted queries, rate limits) by raising."""

from __future__ import annotations

from graphql import GraphQLError
from prometheus_client import Counter
from strawberry.types import ExecutionContext

from runtime.telemetry import metric

GRAPHQL_OPERATIONS = metric(
    Counter,
    "autovideo_graphql_operations_total",
    "GraphQL operations by type and outcome (ok, or the first error's code)",
    ["type", "outcome"],
)


def _code(error: GraphQLError) -> str:
    return str((error.extensions or {}).get("code") or "INTERNAL_SERVER_ERROR")


def count(ec: ExecutionContext, refusal: BaseException | None = None) -> None:
    """Count one finished operation: refused (`refusal`), failed (its first error's code) or ok."""
    if refusal is not None:
        outcome = _code(refusal) if isinstance(refusal, GraphQLError) else "INTERNAL_SERVER_ERROR"
    else:
        errors = list(getattr(ec.result, "errors", None) or []) + list(
            getattr(ec, "pre_execution_errors", None) or []
        )
        outcome = _code(errors[0]) if errors else "ok"
    try:
        kind = ec.operation_type.value  # query, mutation, subscription
    except Exception:  # the document did not parse, or a refusal came first
        kind = "unknown"
    GRAPHQL_OPERATIONS.labels(kind, outcome).inc()
