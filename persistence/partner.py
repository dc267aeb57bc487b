"""Partner API keys and persisted GraphQL documents (Apollo APQ and an allow-list)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base, CreatedAt, UUIDKey


class ApiKey(UUIDKey, CreatedAt, Base):
    """Only a hash of the key is stored; the key is shown once at creation."""

    __tablename__ = "api_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class PersistedDocument(CreatedAt, Base):
    __tablename__ = "persisted_documents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    operation_name: Mapped[str | None] = mapped_column(String(200))
    allowlisted: Mapped[bool] = mapped_column(default=False, server_default="false")
    """Registered by an admin for partners that may only run known documents."""


class PartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def api_key_by_prefix(self, prefix: str) -> ApiKey | None:
        return (await self.session.scalars(select(ApiKey).where(ApiKey.prefix == prefix))).first()

    def add(self, row: object) -> None:
        self.session.add(row)

    async def document(self, sha256: str) -> PersistedDocument | None:
        return await self.session.get(PersistedDocument, sha256)

    async def api_key(self, key_id: uuid.UUID) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def api_keys_of(self, user_id: uuid.UUID) -> list[ApiKey]:
        stmt = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc(), ApiKey.id)
        return list((await self.session.scalars(stmt)).all())

    async def count_live_api_keys(self, user_id: uuid.UUID) -> int:
        stmt = select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id)
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
        return int(await self.session.scalar(stmt) or 0)

    async def save_document(
        self, sha256: str, document: str, operation_name: str | None, *, allowlisted: bool = False
    ) -> None:
        """Insert, or (when allow-listing) mark an existing document allow-listed."""
        stmt = insert(PersistedDocument).values(
            sha256=sha256, document=document, operation_name=operation_name, allowlisted=allowlisted
        )
        if allowlisted:
            stmt = stmt.on_conflict_do_update(index_elements=["sha256"], set_={"allowlisted": True})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=["sha256"])
        await self.session.execute(stmt)
