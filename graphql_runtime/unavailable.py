"""How the GraphQL endpoint answers while Redis or PostgreSQL is down (see domain.availability).

- HTTP: status 503 with `Retry-After`, and a GraphQL body whose error carries
  `extensions.code: "SERVICE_UNAVAILABLE"` and `extensions.retryAfter` — whether the failure
  came out of an operation (already classified by graphql_runtime.errors) or before one ran
  (authentication, the request's own plumbing).
- Websockets: an operation that fails gets an error with that code (graphql_runtime.errors, or
  `report_unavailable_operation` when it failed before executing, e.g. re-checking the
  socket's token); a `connection_init` that cannot be checked closes the socket with 1013
  "Try Again Later", which graphql-ws clients retry (4403 would tell them the token is bad).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from graphql import GraphQLError
from starlette.responses import JSONResponse

from domain.availability import ServiceUnavailable, as_unavailable
from runtime.request_id import tag_errors

log = logging.getLogger(__name__)

WS_TRY_AGAIN_LATER = 1013


def _retry_after(response_data: Any) -> int | None:
    """The largest retryAfter of SERVICE_UNAVAILABLE errors in a result (or batch of results)."""
    results = response_data if isinstance(response_data, list) else [response_data]
    found: int | None = None
    for result in results:
        for error in (result.get("errors") if isinstance(result, Mapping) else None) or ():
            ext = (error.get("extensions") or {}) if isinstance(error, Mapping) else {}
            if ext.get("code") == ServiceUnavailable.code:
                found = max(found or 0, int(ext.get("retryAfter") or 1))
    return found


def mark_unavailable(response_data: Any, sub_response: Any) -> None:
    """Called by the view before it builds the HTTP response: 503 + Retry-After when an error
    says a dependency is down."""
    retry = _retry_after(response_data)
    if retry is not None:
        sub_response.status_code = 503
        sub_response.headers["Retry-After"] = str(retry)


def unavailable_response(exc: BaseException) -> JSONResponse | None:
    down = as_unavailable(exc)
    if down is None:
        return None
    log.warning("answering 503: %s is unavailable (%s)", down.dependency, type(exc).__name__)
    error = {"message": down.message, "extensions": {"code": down.code, "retryAfter": down.retry_after}}
    return JSONResponse(
        {"data": None, "errors": tag_errors([error])},
        status_code=503,
        headers={"Retry-After": str(down.retry_after)},
    )


ASGI = Callable[[Any, Any, Any, Any], Coroutine[Any, Any, None]]


def answers_503_while_dependencies_are_down(call: ASGI) -> ASGI:
    """Wraps the view's ASGI `__call__`: an HTTP request that fails because Redis or PostgreSQL
    is down before its response started (authentication, say) answers 503 instead of a 500."""

    @functools.wraps(call)
    async def wrapper(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await call(self, scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await call(self, scope, receive, tracking_send)
        except Exception as exc:
            response = None if started else unavailable_response(exc)
            if response is None:
                raise
            await response(scope, receive, send)

    return wrapper


async def close_socket_if_unavailable(websocket: Any, work: Awaitable[None]) -> None:
    """Run a websocket handler step; if it failed because a dependency is down, close the socket
    with 1013 (and the code in the reason) instead of letting the connection task crash."""
    try:
        await work
    except Exception as exc:
        down = as_unavailable(exc)
        if down is None:
            raise
        log.warning("closing a websocket: %s is unavailable (%s)", down.dependency, type(exc).__name__)
        await websocket.close(
            code=WS_TRY_AGAIN_LATER, reason=f"{down.code}: retry after {down.retry_after} s"
        )


async def report_unavailable_operation(handler: Any, error: BaseException) -> bool:
    """A graphql-transport-ws operation task failed outside execution (strawberry would log it and
    send a bare `complete`): if a dependency is down, send the operation an `error` message with
    SERVICE_UNAVAILABLE instead. True when handled."""
    down = as_unavailable(error)
    task = asyncio.current_task()
    operation = next((op for op in list(handler.operations.values()) if op.task is task), None)
    if down is None or operation is None:
        return False
    log.warning("websocket operation failed: %s is unavailable (%s)", down.dependency, type(error).__name__)
    extensions = {"code": down.code, "retryAfter": down.retry_after}
    await operation.send_initial_errors([GraphQLError(down.message, extensions=extensions)])
    return True
