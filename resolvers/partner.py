"""Partner API keys."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain import partner
from domain.permissions import Permission as P
from graphql_runtime.context import Info
from graphql_runtime.permissions import requires
from schema.node import from_global_id
from schema.partner import ApiKey, CreateApiKeyPayload


@strawberry.type
class PartnerQuery:
    @strawberry.field(extensions=requires(P.USER_UPDATE), description="The signed-in user's API keys.")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        rows = await partner.list_api_keys(info.context.session, info.context.principal)
        return [ApiKey.from_model(r) for r in rows]


@strawberry.type
class PartnerMutation:
    @strawberry.mutation(
        extensions=requires(P.USER_UPDATE), description="The key is returned only this once."
    )
    async def create_api_key(
        self, info: Info, name: str, expires_at: datetime | None = None
    ) -> CreateApiKeyPayload:
        ctx = info.context
        row, key = await partner.create_api_key(
            ctx.session, ctx.principal, name, expires_at, address=ctx.client_address
        )
        return CreateApiKeyPayload(api_key=ApiKey.from_model(row), key=key)

    @strawberry.mutation(extensions=requires(P.USER_UPDATE))
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> bool:
        ctx = info.context
        _, raw = from_global_id(id, "ApiKey")
        return await partner.revoke_api_key(ctx.session, ctx.principal, raw, address=ctx.client_address)
