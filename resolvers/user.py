"""User queries and mutations: thin — read args and context, call the domain, map the result."""

from __future__ import annotations

import strawberry

from domain import accounts
from domain import user as user_domain
from domain.permissions import Permission as P
from graphql_runtime.context import Info
from graphql_runtime.permissions import requires
from schema.node import Node, from_global_id
from schema.user import UpdateProfileInput, User


@strawberry.type
class UserQuery:
    @strawberry.field(description="null when not signed in")
    async def me(self, info: Info) -> User | None:
        row = await user_domain.get_me(info.context.session, info.context.principal)
        return User.from_model(row) if row else None

    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        from resolvers.node import resolve_node

        type_name, raw = from_global_id(id)
        return await resolve_node(info, type_name, raw)


@strawberry.type
class UserMutation:
    @strawberry.mutation(extensions=requires(P.USER_UPDATE))
    async def update_profile(self, info: Info, input: UpdateProfileInput) -> User:
        ctx = info.context
        return User.from_model(await accounts.update_profile(ctx.session, ctx.principal, input.changes()))
