"""Users, their roles and subscriptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from persistence.base import Base, CreatedAt, Timestamps, UUIDKey, str_enum
from persistence.enums import Role, SubscriptionStatus


class User(UUIDKey, Timestamps, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(50))
    email: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(100))
    bio: Mapped[str | None] = mapped_column(Text)
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    website: Mapped[str | None] = mapped_column(String(500))
    location: Mapped[str | None] = mapped_column(String(100))
    email_verified: Mapped[bool] = mapped_column(default=False, server_default="false")
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    """Tokens issued before this instant are refused."""

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", lazy="raise", cascade="all, delete-orphan", foreign_keys="UserRole.user_id"
    )

    __table_args__ = (
        # Unique case-insensitively; the stored email is already normalised to lower case.
        Index("uq_users_username_lower", func.lower(username), unique=True),
        Index("uq_users_email", "email", unique=True),
        Index("ix_users_created_at", "created_at"),
    )


class UserRole(UUIDKey, Base):
    __tablename__ = "user_roles"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role", 50))
    granted_at: Mapped[datetime] = mapped_column(server_default=func.now())
    granted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="roles", lazy="raise", foreign_keys=[user_id])

    __table_args__ = (UniqueConstraint("user_id", "role"),)


class UserSubscription(UUIDKey, CreatedAt, Base):
    __tablename__ = "user_subscriptions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    plan: Mapped[str] = mapped_column(String(50))
    status: Mapped[SubscriptionStatus] = mapped_column(
        str_enum(SubscriptionStatus, "subscription_status"), default=SubscriptionStatus.ACTIVE
    )
    start_date: Mapped[datetime] = mapped_column(server_default=func.now())
    end_date: Mapped[datetime | None]
    auto_renew: Mapped[bool] = mapped_column(default=True, server_default="true")
    payment_method: Mapped[dict[str, Any] | None]


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def get_many(self, ids: list[uuid.UUID]) -> list[User]:
        if not ids:
            return []
        return list((await self.session.scalars(select(User).where(User.id.in_(ids)))).all())

    async def by_login(self, login: str) -> User | None:
        """By username (case-insensitive) or normalised email."""
        login = login.strip()
        stmt = select(User).where(
            (func.lower(User.username) == login.lower()) | (User.email == login.lower())
        )
        return (await self.session.scalars(stmt)).first()

    async def username_taken(self, username: str) -> bool:
        stmt = select(User.id).where(func.lower(User.username) == username.lower())
        return (await self.session.scalar(stmt)) is not None

    async def email_taken(self, email: str) -> bool:
        return (await self.session.scalar(select(User.id).where(User.email == email))) is not None

    def add(self, user: User) -> User:
        self.session.add(user)
        return user

    async def insert_unique(self, user: User) -> bool:
        """Insert now; False (and nothing inserted) when the username or email is already taken."""
        from sqlalchemy.exc import IntegrityError

        try:
            async with self.session.begin_nested():
                self.session.add(user)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def newest(self, *, containing: str | None, limit: int) -> list[User]:
        """Accounts newest first; `containing` matches part of the username or email (any case)."""
        stmt = select(User).order_by(User.created_at.desc(), User.id.desc()).limit(limit)
        if containing:
            escaped = containing.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            stmt = stmt.where(
                User.username.ilike(pattern, escape="\\") | User.email.ilike(pattern, escape="\\")
            )
        return list((await self.session.scalars(stmt)).all())

    async def by_email(self, email: str) -> User | None:
        return (await self.session.scalars(select(User).where(User.email == email.strip().lower()))).first()

    async def roles_of(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[UserRole]]:
        out: dict[uuid.UUID, list[UserRole]] = {uid: [] for uid in user_ids}
        if not user_ids:
            return out
        rows = await self.session.scalars(select(UserRole).where(UserRole.user_id.in_(user_ids)))
        for row in rows:
            out[row.user_id].append(row)
        return out

    async def role(self, user_id: uuid.UUID, role: Role) -> UserRole | None:
        stmt = select(UserRole).where(UserRole.user_id == user_id, UserRole.role == role)
        return (await self.session.scalars(stmt)).first()

    def add_role(self, row: UserRole) -> None:
        self.session.add(row)

    async def delete_role(self, row: UserRole) -> None:
        await self.session.delete(row)

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(User)) or 0)

    async def active_subscription(self, user_id: uuid.UUID) -> UserSubscription | None:
        stmt = (
            select(UserSubscription)
            .where(UserSubscription.user_id == user_id, UserSubscription.status == SubscriptionStatus.ACTIVE)
            .order_by(UserSubscription.start_date.desc())
        )
        return (await self.session.scalars(stmt)).first()

    def add_subscription(self, sub: UserSubscription) -> None:
        self.session.add(sub)
