"""Administration: accounts, roles, subscriptions, the audit log, the persisted-query allow-list."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain import admin, audit, persisted_queries
from domain.permissions import Permission as P
from graphql_runtime.context import Info
from graphql_runtime.permissions import requires
from schema.admin import AuditEvent, UserSubscription
from schema.common import Role
from schema.node import from_global_id
from schema.user import User


@strawberry.type
class AdminQuery:
    @strawberry.field(extensions=requires(P.ADMIN_USER_MANAGE), description="Newest first.")
    async def audit_log(self, info: Info, first: int = 50) -> list[AuditEvent]:
        rows = await audit.list_events(info.context.session, info.context.principal, first)
        return [AuditEvent.from_model(r) for r in rows]

    @strawberry.field(
        extensions=requires(P.ADMIN_USER_MANAGE),
        description="Accounts, newest first; `search` matches part of the username or email.",
    )
    async def users(self, info: Info, first: int = 50, search: str | None = None) -> list[User]:
        rows = await admin.list_users(info.context.session, info.context.principal, search, first)
        return [User.from_model(r) for r in rows]


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        extensions=requires(P.ADMIN_USER_MANAGE), description="Ends every session of the account at once."
    )
    async def deactivate_user(self, info: Info, id: strawberry.ID) -> User:
        ctx = info.context
        _, raw = from_global_id(id, "User")
        row = await admin.set_active(
            ctx.session, ctx.resources, ctx, ctx.principal, raw, False, address=ctx.client_address
        )
        return User.from_model(row)

    @strawberry.mutation(extensions=requires(P.ADMIN_USER_MANAGE))
    async def reactivate_user(self, info: Info, id: strawberry.ID) -> User:
        ctx = info.context
        _, raw = from_global_id(id, "User")
        row = await admin.set_active(
            ctx.session, ctx.resources, ctx, ctx.principal, raw, True, address=ctx.client_address
        )
        return User.from_model(row)

    @strawberry.mutation(
        extensions=requires(P.ADMIN_USER_MANAGE),
        description="Until expiresAt when given. ADMIN and SUPER_ADMIN need a super admin.",
    )
    async def grant_role(
        self,
        info: Info,
        user_id: strawberry.ID,
        role: Role,
        expires_at: datetime | None = None,
    ) -> User:
        ctx = info.context
        _, raw = from_global_id(user_id, "User")
        row = await admin.grant_role(
            ctx.session,
            ctx.resources,
            ctx,
            ctx.principal,
            raw,
            role,
            expires_at,
            address=ctx.client_address,
        )
        return User.from_model(row)

    @strawberry.mutation(extensions=requires(P.ADMIN_USER_MANAGE))
    async def revoke_role(self, info: Info, user_id: strawberry.ID, role: Role) -> User:
        ctx = info.context
        _, raw = from_global_id(user_id, "User")
        row = await admin.revoke_role(
            ctx.session,
            ctx.resources,
            ctx,
            ctx.principal,
            raw,
            role,
            address=ctx.client_address,
        )
        return User.from_model(row)

    @strawberry.mutation(
        extensions=requires(P.ADMIN_USER_MANAGE),
        description="Starts `plan` now: grants its role (until endsAt) and its quota defaults.",
    )
    async def set_subscription(
        self, info: Info, user_id: strawberry.ID, plan: str, ends_at: datetime | None = None
    ) -> UserSubscription:
        ctx = info.context
        _, raw = from_global_id(user_id, "User")
        row = await admin.set_subscription(
            ctx.session, ctx.resources, ctx, ctx.principal, raw, plan, ends_at, address=ctx.client_address
        )
        return UserSubscription.from_model(row)

    @strawberry.mutation(extensions=requires(P.ADMIN_USER_MANAGE))
    async def cancel_subscription(self, info: Info, user_id: strawberry.ID) -> bool:
        ctx = info.context
        _, raw = from_global_id(user_id, "User")
        return await admin.cancel_subscription(
            ctx.session, ctx.resources, ctx, ctx.principal, raw, address=ctx.client_address
        )

    @strawberry.mutation(
        extensions=requires(P.ADMIN_SYSTEM_CONFIG),
        description="Allow-lists a document for persisted-queries-only partners; returns its SHA-256.",
    )
    async def allowlist_persisted_query(
        self, info: Info, document: str, operation_name: str | None = None
    ) -> str:
        ctx = info.context
        return await persisted_queries.allowlist(
            ctx.session, ctx.principal, document, operation_name, address=ctx.client_address
        )
