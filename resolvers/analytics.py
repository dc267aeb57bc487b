"""Creator analytics for the signed-in user, and across users for analytics admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from domain import analytics as analytics_domain
from domain.permissions import Permission as P
from graphql_runtime.context import Info
from graphql_runtime.permissions import requires
from schema.analytics import CreatorAnalytics
from schema.node import from_global_id


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(
        extensions=requires(P.USER_READ),
        description="The signed-in user's analytics; the window defaults to the last 30 days.",
    )
    async def analytics(
        self,
        info: Info,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> CreatorAnalytics:
        summary = await analytics_domain.creator_analytics(
            info.context.session, info.context.principal, from_, to
        )
        return CreatorAnalytics.from_summary(summary)

    @strawberry.field(
        extensions=requires(P.ADMIN_ANALYTICS_VIEW),
        description="Analytics across every user, or one user's when userId is given.",
    )
    async def admin_analytics(
        self,
        info: Info,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        user_id: strawberry.ID | None = None,
    ) -> CreatorAnalytics:
        uid = from_global_id(user_id, "User")[1] if user_id else None
        summary = await analytics_domain.admin_analytics(
            info.context.session, info.context.principal, from_, to, uid
        )
        return CreatorAnalytics.from_summary(summary)
