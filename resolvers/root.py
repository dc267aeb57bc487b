"""The root types and the schema object. Each feature contributes a mixin per root type."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxTokensLimiter, QueryDepthLimiter

from resolvers import ai as ai_resolvers
from resolvers import user as user_resolvers
from resolvers import video as video_resolvers
from schema.errors import ErrorCodes
from schema.permissions import RequiresPermissionDirective
from schema.unit_of_work import UnitOfWork


@strawberry.type
class Query(user_resolvers.UserQuery, video_resolvers.VideoQuery, ai_resolvers.AIQuery):
    pass


@strawberry.type
class Mutation(video_resolvers.VideoMutation):
    pass


@strawberry.type
class Subscription(video_resolvers.VideoSubscription):
    pass


def build_schema(max_depth: int = 12, max_tokens: int = 2000) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            ErrorCodes,
            UnitOfWork,
            lambda: QueryDepthLimiter(max_depth=max_depth),
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
        ],
        schema_directives=[RequiresPermissionDirective],
    )


schema = build_schema()
