"""Admission of each operation: the caller is (re)authenticated and counted against its
per-minute ceiling (THROTTLED with `retryAfter` past it) before anything else runs.

Over HTTP the view admitted the request already, in the same Redis round trip as its
authentication; this extension only applies that verdict. A websocket outlives its token, so
each operation on it re-checks the token and counts itself, again in one round trip: after
logout, expiry or deactivation its operations run anonymous."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from redis.exceptions import RedisError

from domain.admission import admit_bearer, count_operation
from domain.errors import DomainError, Throttled
from domain.identity import Principal
from graphql_runtime.context import Context

log = logging.getLogger(__name__)


async def _admit_websocket_operation(context: Context) -> Throttled | None:
    assert context.bearer is not None
    try:
        admission = await admit_bearer(
            context.resources, context.bearer, context.client_address, count_operation=True
        )
    except DomainError as exc:
        context.principal = Principal.anonymous(context.client_address)
        context.bearer = None
        if context.live_session is not None:
            context.live_session.end(exc.message)
        return await count_operation(context.resources, context.principal)
    except RedisError as exc:
        # The token cannot be re-checked (revocations live in Redis): refuse the operation with
        # SERVICE_UNAVAILABLE, as HTTP answers 503 (graphql_runtime/unavailable.py), never run it as before.
        from domain.availability import ServiceUnavailable

        raise ServiceUnavailable("redis") from exc
    context.principal = admission.principal
    return admission.throttled


async def admit_operation(context: Context) -> None:
    """Before anything else of the operation runs: THROTTLED past the caller's ceiling."""
    admission, context.admission = context.admission, None  # one HTTP request, one operation
    if admission is not None:
        throttled = admission.throttled
    elif context.bearer is not None:
        throttled = await _admit_websocket_operation(context)
    else:
        throttled = await count_operation(context.resources, context.principal)
    if throttled is not None:
        # Raised before the unit of work starts: nothing is opened, nothing runs.
        raise GraphQLError(throttled.message, extensions={**throttled.extensions, "code": throttled.code})
