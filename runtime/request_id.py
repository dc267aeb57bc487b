"""A request id per HTTP request (and per websocket connection): in the logs of everything the
request does, in the `X-Request-Id` response header, and in `extensions.requestId` of internal
errors, so a user's report leads to the one log entry.

An incoming `X-Request-Id` (set by a proxy or the client) is kept when it is a sane short token
(1 to 64 of `A-Z a-z 0-9 . _ : -`); anything else is replaced. An exception that escapes the app is
logged here once (redacted, with the id) and answered with a plain 500 carrying the id, instead
of uvicorn's traceback of the raw exception.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("autovideo.http")

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:-]{1,64}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def request_id() -> str:
    """The current request's id; outside a request (in-process calls, jobs) one is made for the
    current context, so everything that reports the same error agrees on it."""
    value = _request_id.get()
    if value is None:
        value = new_request_id()
        _request_id.set(value)
    return value


# A random per-process prefix and a counter: unique across processes and cheap (no system call
# per request). Ids are not secrets; a forked child draws a prefix of its own.
_prefix = os.urandom(8).hex()
_counter = itertools.count()


def _reseed() -> None:
    global _prefix, _counter
    _prefix, _counter = os.urandom(8).hex(), itertools.count()


os.register_at_fork(after_in_child=_reseed)


def tag_errors(errors: list[Any]) -> list[Any]:
    """GraphQL errors (as sent) each with extensions.requestId: the id a partner quotes, which
    finds the request's log lines."""
    rid = request_id()
    return [
        {**e, "extensions": {**(e.get("extensions") or {}), "requestId": rid}} if isinstance(e, dict) else e
        for e in errors
    ]


def new_request_id() -> str:
    return f"{_prefix}{next(_counter) & 0xFFFFFFFFFFFFFFFF:016x}"


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or ():
        if name == HEADER:
            return value.decode("ascii") if _SANE.fullmatch(value) else None
    return None


class RequestIdMiddleware:
    """Pure ASGI: sets the id for the request's context and adds the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = _incoming(scope) or new_request_id()
        token = _request_id.set(rid)
        header = (HEADER, rid.encode("ascii"))
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept"):
                started = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            from runtime.logs import format_exception

            where = f"{kind} {scope.get('path')}"
            log.error("unhandled error (request id %s) in %s\n%s", rid, where, format_exception(exc))
            if kind != "http" or started:
                raise _Logged() from None
            body = f"Internal server error (request id {rid}).".encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                        header,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            _request_id.reset(token)


class _Logged(Exception):
    """Re-raised after logging when a response was already under way: the server drops the
    connection, with nothing of the original exception left to print."""

    def __str__(self) -> str:
        return "error logged above (see the request id)"
