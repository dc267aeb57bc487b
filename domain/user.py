"""Reading users and their effective roles."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.identity import Principal
from persistence.enums import Role
from persistence.user import User, UserRepository, UserRole

if TYPE_CHECKING:
    from domain.permissions import Permission


def active_roles(rows: Iterable[UserRole], now: datetime | None = None) -> frozenset[Role]:
    """Roles whose expiry (if any) is still ahead; checked at every use, not by a sweeper."""
    now = now or datetime.now(UTC)
    return frozenset(r.role for r in rows if r.expires_at is None or r.expires_at > now)


def sees_private_profile(principal: Principal, user_id: uuid.UUID) -> bool:
    """A user's email, roles, permissions and sign-in times: the user's own business (and user
    administrators'). Everyone else sees the public profile only."""
    return principal.owns_or_can(user_id, _admin())


async def get_me(session: AsyncSession, principal: Principal) -> User | None:
    if principal.user_id is None:
        return None
    return await UserRepository(session).get(principal.user_id)


async def get_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    user = await UserRepository(session).get(user_id)
    if user is None or (not user.is_active and not principal.owns_or_can(user_id, _admin())):
        raise NotFound("No such user.")
    return user


def _admin() -> Permission:
    from domain.permissions import Permission

    return Permission.ADMIN_USER_MANAGE
