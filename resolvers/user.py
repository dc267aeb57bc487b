"""User queries and mutations: thin — read args and context, call the domain, map the result."""

from __future__ import annotations

import strawberry

from domain import user as user_domain
from schema.context import Info
from schema.node import Node, from_global_id
from schema.user import User


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
