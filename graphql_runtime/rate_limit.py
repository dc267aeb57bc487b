"""Admission of each operation: the caller is (re)authenticated and counted against its
per-minute ceiling (THROTTLED with `retryAfter` past it) before anything else runs.

Over HTTP the view verified the request's token locally (or its API key); the Redis round trip
(revocation, account state, operation count, cost charge) runs here, once the document is
validated and its cost known (domain/admission.py, domain/rate_budget.py). A websocket outlives its token, so
each operation on it re-checks the token and counts itself, again in one round trip: after
logout, expiry or deactivation its operations run anonymous."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from redis.exceptions import RedisError

from domain.admission import Admission, admit_bearer, complete, count_operation
from domain.errors import DomainError, Throttled, Unauthenticated
from domain.identity import Principal
from domain.rate_budget import Budget
from graphql_runtime.context import Context

log = logging.getLogger(__name__)


async def _admit_websocket_operation(context: Context, cost: int) -> Admission:
    assert context.bearer is not None
    try:
        admission = await admit_bearer(
            context.resources, context.bearer, context.client_address, count_operation=True, cost=cost
        )
    except DomainError as exc:
        context.principal = Principal.anonymous(context.client_address)
        context.bearer = None
        if context.live_session is not None:
            context.live_session.end(exc.message)
        return await count_operation(context.resources, context.principal, cost)
    except RedisError as exc:
        # The token cannot be re-checked (revocations live in Redis): refuse the operation with
        # SERVICE_UNAVAILABLE, as HTTP answers 503 (graphql_runtime/unavailable.py), never run it as before.
        from domain.availability import ServiceUnavailable

        raise ServiceUnavailable("redis") from exc
    context.principal = admission.principal
    return admission


async def _admit_http_request(context: Context, pending: Admission, cost: int) -> Admission:
    try:
        admission = await complete(context.resources, pending, cost)
    except Unauthenticated as exc:  # a revoked token, an inactive account: 401, as before
        response = context.response
        if response is not None and hasattr(response, "status_code"):
            response.status_code = 401
            response.headers["WWW-Authenticate"] = "Bearer"
        raise GraphQLError(exc.message, extensions={**exc.extensions, "code": exc.code}) from None
    context.principal = admission.principal
    return admission


async def admit_operation(context: Context, cost: int = 1) -> Budget | None:
    """Once the operation's cost is known, before anything of it runs: the caller checked and
    the cost charged (one Redis round trip); THROTTLED past the caller's ceiling or budget.
    Returns the caller's bucket after the charge (for extensions.cost and the headers)."""
    pending, context.admission = context.admission, None  # one HTTP request, one operation
    if pending is not None and pending.pending:
        admission = await _admit_http_request(context, pending, cost)
    elif pending is not None:
        admission = pending
    elif context.bearer is not None:
        admission = await _admit_websocket_operation(context, cost)
    else:
        admission = await count_operation(context.resources, context.principal, cost)
    budget, throttled = admission.budget, admission.throttled
    if budget is not None or throttled is not None:
        rate_limit_headers(context, budget, throttled)
    if throttled is not None:
        # Raised before the unit of work starts: nothing is opened, nothing runs.
        error = GraphQLError(throttled.message, extensions={**throttled.extensions, "code": throttled.code})
        error.budget = budget  # type: ignore[attr-defined]
        raise error
    return budget


def rate_limit_headers(context: Context, budget: Budget | None, throttled: Throttled | None) -> None:
    """X-RateLimit-Limit/Remaining/Reset (epoch seconds) on an HTTP response; Retry-After too
    when the operation was refused."""
    response = context.response
    headers = getattr(response, "headers", None)
    if headers is None or not hasattr(response, "status_code"):
        return  # a websocket: extensions.cost says it
    raw = headers.raw  # a new response's headers: appended, not searched (this runs per request)
    if budget is not None:
        raw.append((b"x-ratelimit-limit", b"%d" % budget.limit))
        raw.append((b"x-ratelimit-remaining", b"%d" % budget.remaining))
        raw.append((b"x-ratelimit-reset", b"%d" % budget.reset_epoch))
    if throttled is not None:
        raw.append((b"retry-after", b"%d" % throttled.retry_after))
