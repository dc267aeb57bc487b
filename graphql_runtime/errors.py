"""Every error leaves with a stable `extensions.code`; internal details never leave.
Internal errors carry `extensions.requestId`, the id their (single) log entry has: logging is
graphql_runtime.error_log's job, not this module's."""

from __future__ import annotations

import re

from graphql import GraphQLError
from strawberry.types import ExecutionContext

from domain.availability import as_unavailable
from domain.errors import DomainError
from runtime.request_id import request_id

INTERNAL_MESSAGE = "Internal server error."

# What the limiters (strawberry's depth and alias limiters, graphql-core's token limit) say;
# tests/foundation/test_limits.py pins them, so a library changing its words fails loudly.
_TOO_COMPLEX = re.compile(
    r"exceeds maximum operation depth|aliases found\. Allowed|Document contains more than \d+ tokens"
)


def classify(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is not None and not isinstance(original, DomainError):
        original = as_unavailable(original) or original  # Redis/PostgreSQL down: SERVICE_UNAVAILABLE
    ext = dict(error.extensions or {})
    if isinstance(original, DomainError):
        ext.update(original.extensions)
        ext["code"] = original.code
        return GraphQLError(
            original.message, error.nodes, error.source, error.positions, error.path, None, ext
        )
    carried = getattr(original, "extensions", None) if original is not None else None
    if isinstance(carried, dict) and "code" in carried:
        # Strawberry permission errors carry their code already.
        ext.update(carried)
        return GraphQLError(str(original), error.nodes, error.source, error.positions, error.path, None, ext)
    if isinstance(original, GraphQLError) and error.path is None:
        original = None  # graphql-core wraps a variable's coercion error: the client's own input
    if original is None:
        if "code" in ext:
            return error
        message = error.message
        if _TOO_COMPLEX.search(message):
            ext["code"] = "QUERY_TOO_COMPLEX"
        elif message.startswith("Syntax Error"):
            ext["code"] = "GRAPHQL_PARSE_FAILED"
        elif error.path is None:
            # Validation and variable coercion errors name the client's own document: safe to show.
            ext["code"] = "GRAPHQL_VALIDATION_FAILED" if error.locations or error.nodes else "BAD_USER_INPUT"
        else:
            ext["code"] = "BAD_USER_INPUT" if "Variable" in message else "INTERNAL_SERVER_ERROR"
            if ext["code"] == "INTERNAL_SERVER_ERROR":
                ext["requestId"] = request_id()
        return GraphQLError(message, error.nodes, error.source, error.positions, error.path, None, ext)
    ext = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id()}
    return GraphQLError(INTERNAL_MESSAGE, error.nodes, error.source, error.positions, error.path, None, ext)


def classify_result(result: object) -> None:
    """Give every error of a result its code (and mask internal ones), in place."""
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [classify(e) for e in errors]  # type: ignore[attr-defined]


def classify_pre_execution(ec: ExecutionContext) -> None:
    pre = getattr(ec, "pre_execution_errors", None)
    if pre:
        ec.pre_execution_errors = [classify(e) for e in pre]
