"""The User type."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from domain.permissions import permissions_of
from domain.user import active_roles, sees_private_profile
from graphql_runtime.context import Info
from graphql_runtime.permissions import Permission
from persistence.user import User as UserRow
from schema.common import Role, VideoStatus
from schema.node import Node, to_global_id

if TYPE_CHECKING:
    from schema.video import VideoConnection


_PRIVATE = "Only the user and holders of ADMIN_USER_MANAGE see it"


@strawberry.type(
    description="Anyone may read a user's public profile (username, name, bio, avatar, website, "
    "location, createdAt). The private fields (email, emailVerified, roles, permissions, lastLoginAt) "
    "are shown to the user and to ADMIN_USER_MANAGE holders only: null, false or empty for others."
)
class User(Node):
    raw_id: strawberry.Private[uuid.UUID]
    username: str
    email_value: strawberry.Private[str]
    full_name: str | None
    bio: str | None
    avatar_url: str | None
    website: str | None
    location: str | None
    email_verified_value: strawberry.Private[bool]
    is_active: bool
    created_at: datetime
    last_login_value: strawberry.Private[datetime | None]
    own: strawberry.Private[bool] = False
    """Built for the account's own holder (an AuthPayload), whoever the request's principal is."""

    @classmethod
    def from_model(cls, row: UserRow, *, own: bool = False) -> User:
        return cls(
            id=to_global_id("User", row.id),
            raw_id=row.id,
            username=row.username,
            email_value=row.email,
            full_name=row.full_name,
            bio=row.bio,
            avatar_url=row.avatar_url,
            website=row.website,
            location=row.location,
            email_verified_value=row.email_verified,
            is_active=row.is_active,
            created_at=row.created_at,
            last_login_value=row.last_login_at,
            own=own,
        )

    def _private(self, info: Info) -> bool:
        return self.own or sees_private_profile(info.context.principal, self.raw_id)

    @strawberry.field(description="Only the user and holders of ADMIN_USER_MANAGE see it; null for others.")
    def email(self, info: Info) -> str | None:
        return self.email_value if self._private(info) else None

    @strawberry.field(description="Only the user and holders of ADMIN_USER_MANAGE see it; false for others.")
    def email_verified(self, info: Info) -> bool:
        return self.email_verified_value if self._private(info) else False

    @strawberry.field(description="Only the user and holders of ADMIN_USER_MANAGE see it; null for others.")
    def last_login_at(self, info: Info) -> datetime | None:
        return self.last_login_value if self._private(info) else None

    @strawberry.field(description=_PRIVATE + "; empty for others.")
    async def roles(self, info: Info) -> list[Role]:
        if not self._private(info):
            return []
        rows = await info.context.loaders.roles.load(self.raw_id)
        return sorted(active_roles(rows), key=lambda r: r.name)

    @strawberry.field(description=_PRIVATE + "; empty for others.")
    async def permissions(self, info: Info) -> list[Permission]:
        if not self._private(info):
            return []
        rows = await info.context.loaders.roles.load(self.raw_id)
        perms = permissions_of(active_roles(rows))
        return [Permission[p.name] for p in sorted(perms, key=lambda p: p.name)]

    @strawberry.field
    async def videos(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: VideoStatus | None = None,
    ) -> Annotated[VideoConnection, strawberry.lazy("schema.video")]:
        from schema.video import video_connection

        return await video_connection(info, self.raw_id, first, after, status)


@strawberry.input
class UpdateProfileInput:
    full_name: str | None = strawberry.UNSET
    bio: str | None = strawberry.UNSET
    avatar_url: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    location: str | None = strawberry.UNSET

    def changes(self) -> dict[str, str | None]:
        """Only the fields the client sent (null clears a field)."""
        names = ("full_name", "bio", "avatar_url", "website", "location")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not strawberry.UNSET}
