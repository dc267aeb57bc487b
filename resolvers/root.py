"""The root types and the schema object. Each feature contributes a mixin per root type."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaxTokensLimiter, QueryDepthLimiter

from resolvers import user as user_resolvers
from resolvers import video as video_resolvers
from schema.errors import ErrorCodes
from schema.permissions import RequiresPermissionDirective
from schema.unit_of_work import UnitOfWork


@strawberry.type
class Query(user_resolvers.UserQuery, video_resolvers.VideoQuery):
    pass


# Mutation and Subscription are added here as features land:
#   @strawberry.type
#   class Mutation(auth_resolvers.AuthMutation, user_resolvers.UserMutation, video_resolvers.VideoMutation): ...
Mutation = None
Subscription = None


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
