"""Refresh-token families and single-use tokens (email verification, password reset)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base, CreatedAt, UUIDKey


class RefreshToken(CreatedAt, Base):
    """Each issued refresh token; rotation spends it, and reuse of a spent one revokes its family."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    parent_jti: Mapped[uuid.UUID | None]
    expires_at: Mapped[datetime]
    spent_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class OneTimeToken(UUIDKey, CreatedAt, Base):
    """Email verification and password reset: the signed token carries this row's id; use spends it."""

    __tablename__ = "one_time_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(30))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class AccountsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: Any) -> None:
        self.session.add(row)

    async def refresh_token(self, jti: uuid.UUID, *, for_update: bool = False) -> RefreshToken | None:
        stmt = select(RefreshToken).where(RefreshToken.jti == jti)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).first()

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def revoke_all_for_user(self, user_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def one_time_token(self, token_id: uuid.UUID, *, for_update: bool = False) -> OneTimeToken | None:
        stmt = select(OneTimeToken).where(OneTimeToken.id == token_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).first()

    async def spend_one_time_tokens(self, user_id: uuid.UUID, purpose: str, at: datetime) -> None:
        """Every outstanding token of this purpose for the user becomes used."""
        await self.session.execute(
            update(OneTimeToken)
            .where(OneTimeToken.user_id == user_id, OneTimeToken.purpose == purpose)
            .where(OneTimeToken.used_at.is_(None))
            .values(used_at=at)
        )
