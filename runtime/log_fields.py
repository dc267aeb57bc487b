"""What a log line says about its request besides the message, and the JSON-lines format.

- the request id (runtime/request_id.py), set for every HTTP request and websocket;
- the user id and the GraphQL operation's name, bound by the operation's lifecycle once the
  caller is admitted (`bind`); a websocket's operations each bind their own (their tasks copy
  the connection's context);
- the trace id of the current OpenTelemetry span (when tracing is on), the id its trace (and
  the jobs it enqueued, which carry its traceparent) is found by.

`AUTOVIDEO_LOG_FORMAT=json` writes one JSON object per line with these fields
(`JsonFormatter`); the default `text` stays the human format of runtime/logs.py."""

from __future__ import annotations

import contextvars
import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from runtime.request_id import current_request_id

_fields: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "log_fields", default=(None, None)
)


def bind(user_id: object | None, operation: str | None) -> None:
    """The current request's (or websocket operation's) user and operation name, for its logs."""
    _fields.set((str(user_id) if user_id is not None else None, operation))


def current() -> tuple[str | None, str | None]:
    return _fields.get()


def trace_id() -> str | None:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, requestId, traceId, userId,
    operation, and a redacted traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        from runtime.logs import format_exception

        user_id, operation = current()
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "requestId": getattr(record, "request_id", None) or current_request_id(),
            "traceId": trace_id(),
            "userId": user_id,
            "operation": operation,
        }
        if record.exc_info and record.exc_info[1] is not None:
            line["exception"] = format_exception(record.exc_info[1])
        return orjson.dumps(line, default=str).decode()
