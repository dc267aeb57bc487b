"""Process logging: one format for our loggers and uvicorn's, the request id on every line, and
nothing secret in any of it.

- `redact(text)` blanks what may be a user's data in a message: quoted literals (PostgreSQL and
  asyncpg quote the values they reject), `Key (col)=(value)` details, SQL parameter lists,
  e-mail addresses, bearer tokens, JWTs and other long opaque tokens.
- `format_exception(exc)` is a traceback whose frames are kept (file, line, function, source
  line: our code, not user data) and whose exception messages go through `redact`.
- The access log (`uvicorn.access`) never carries a query string: signed media URLs
  (`?exp=…&sig=…`) and GraphQL GET documents (inline passwords) stay out of it.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from runtime.request_id import current_request_id

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"

_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    # SQLAlchemy's statement errors append "[parameters: (...)]" unless hide_parameters is on.
    (re.compile(r"\[parameters: .*?\]\n?", re.S), "[parameters: redacted]\n"),
    # PostgreSQL's DETAIL for constraint violations: Key (email)=(ada@example.com) already exists.
    (re.compile(r"\)=\(.*?\)(?= already exists| is not present|\.|$)", re.M), ")=(?)"),
    (re.compile(r"'(?:[^'\\\n]|\\.)*'"), "'?'"),
    (re.compile(r'"(?:[^"\\\n]|\\.)*"'), '"?"'),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s,;]+"), r"\1 ?"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "?@?"),
    (re.compile(r"\beyJ[\w-]*\.[\w-]*\.[\w-]*"), "?jwt?"),
    # Long opaque tokens: API keys, hashes, signatures, argon2 strings.
    (re.compile(r"\$argon2[\w$=,./+-]*"), "?hash?"),
    (re.compile(r"\b[\w+/=-]{32,}"), "?token?"),
]


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain[::-1]


def format_exception(exc: BaseException) -> str:
    """A traceback with every exception message redacted (locals are never shown)."""
    lines: list[str] = []
    for i, item in enumerate(_chain(exc)):
        if i:
            lines.append("which led to:")
        lines.append("Traceback (most recent call last):")
        for frame in traceback.extract_tb(item.__traceback__):
            lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
            if frame.line:
                lines.append(f"    {frame.line.strip()}")
        kind = type(item)
        name = kind.__qualname__
        if kind.__module__ != "builtins":
            name = f"{kind.__module__}.{name}"
        message = redact(str(item))
        lines.append(f"{name}: {message}" if message else name)
    return "\n".join(lines)


class RequestIdFilter(logging.Filter):
    """Puts `request_id` ("-" outside a request) on every record a handler formats."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


class AccessLogFilter(logging.Filter):
    """uvicorn's access record is `'%s - "%s %s HTTP/%s" %d'` with the path and query string as
    its third argument: the query string is dropped (it may hold a media signature or a GraphQL
    document with inline secrets)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?<redacted>", *args[3:])
        return True


def _handler(fmt: str = "text") -> logging.Handler:
    handler = logging.StreamHandler()
    if fmt == "json":  # one JSON object a line (runtime/log_fields.py)
        from runtime.log_fields import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    return handler


def configure(level: str, fmt: str = "text") -> None:
    """Root logging for a process (API or worker), `text` or `json` lines. Idempotent."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not any(getattr(h, "_autovideo", False) for h in root.handlers):
        handler = _handler(fmt)
        handler._autovideo = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    protect_access_log()


def protect_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogFilter) for f in access.filters):
        access.addFilter(AccessLogFilter())


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """uvicorn's loggers go through our root handler (same format, request id, redaction of the
    access log); uvicorn's own handlers are not installed."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"access": {"()": AccessLogFilter}},
        "loggers": {
            "uvicorn": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level.upper(), "propagate": True},
            "uvicorn.access": {"level": level.upper(), "propagate": True, "filters": ["access"]},
        },
    }
