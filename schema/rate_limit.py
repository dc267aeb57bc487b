"""A ceiling on operations per caller and minute (Redis fixed windows): THROTTLED with
`retryAfter` past it. Signed-in users, API keys and anonymous addresses are counted apart."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from graphql import GraphQLError
from redis.exceptions import RedisError
from strawberry.extensions import SchemaExtension

from domain.errors import Throttled
from domain.ratelimit import hit
from schema.context import Context

log = logging.getLogger(__name__)


class OperationRateLimit(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        context: Context = self.execution_context.context
        settings = context.resources.settings
        principal = context.principal
        if principal.user_id is not None:
            ident, limit = f"user:{principal.user_id}", settings.operations_per_minute
        else:
            ident = f"ip:{context.client_address or 'unknown'}"
            limit = settings.anonymous_operations_per_minute
        if limit > 0:
            try:
                await hit(context.resources, "ops", ident, limit=limit, window=60)
            except Throttled as exc:
                # Raised before the unit of work starts: nothing is opened, nothing runs.
                raise GraphQLError(exc.message, extensions={**exc.extensions, "code": exc.code}) from None
            except RedisError:
                # A ceiling, not a gate: while Redis is away the API keeps answering.
                log.warning("rate limit skipped: Redis unavailable")
        yield
