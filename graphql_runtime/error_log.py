"""What the GraphQL layer logs about errors (strawberry's own `process_errors` logs every error
at ERROR with the whole document — inline passwords included — and the raw traceback).

- Expected errors (any DomainError, a code the client caused: BAD_USER_INPUT, NOT_FOUND,
  UNAUTHENTICATED, FORBIDDEN, THROTTLED, QUERY_TOO_COMPLEX, parse/validation failures…): one
  DEBUG line, code and path, no traceback, no document.
- Unexpected ones (INTERNAL_SERVER_ERROR): one ERROR entry with the request id the client gets
  in `extensions.requestId`, the operation's name and type, the path and a redacted traceback.
- Anything else classified with another code (e.g. a dependency being unavailable): a WARNING
  line without traceback.
Strawberry calls `process_errors` once per error list; nothing else in the app logs them.
"""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError

from graphql_runtime.errors import classify
from runtime.logs import format_exception, redact
from runtime.request_id import request_id

log = logging.getLogger("autovideo.graphql")

INTERNAL = "INTERNAL_SERVER_ERROR"
EXPECTED = frozenset(
    {
        "BAD_USER_INPUT",
        "NOT_FOUND",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "THROTTLED",
        "QUERY_TOO_COMPLEX",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "CONFLICT",
        "QUOTA_EXCEEDED",
        "PERSISTED_QUERY_NOT_FOUND",
        "PERSISTED_QUERY_NOT_ALLOWED",
    }
)


def _operation(execution_context: Any) -> str:
    if execution_context is None:
        return "-"
    try:
        kind = execution_context.operation_type.value
    except Exception:  # not parsed (yet): no operation to name
        kind = "operation"
    name = getattr(execution_context, "operation_name", None) or "anonymous"
    return f"{kind} {name}"


def log_error(error: GraphQLError, execution_context: Any = None) -> None:
    from domain.errors import DomainError

    original = error.original_error
    code: str | None
    if isinstance(original, DomainError):
        code = original.code
    else:
        code = (classify(error).extensions or {}).get("code")
    path = ".".join(str(p) for p in error.path) if error.path else "-"
    if code == INTERNAL:
        detail = format_exception(original) if original is not None else redact(error.message)
        log.error(
            "unexpected error (request id %s) in %s at %s\n%s",
            request_id(),
            _operation(execution_context),
            path,
            detail,
        )
    elif isinstance(original, DomainError) or code in EXPECTED:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s at %s: %s", code, path, redact(error.message))
    else:
        log.warning("%s in %s at %s: %s", code, _operation(execution_context), path, redact(error.message))


class Schema(strawberry.Schema):
    """strawberry.Schema whose errors are logged as described above."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            log_error(error, execution_context)
