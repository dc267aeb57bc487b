"""Connections to social platforms (tokens encrypted at rest) and publications of videos."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base, Timestamps, UUIDKey, str_enum
from persistence.enums import PublicationStatus


class PlatformConnection(UUIDKey, Timestamps, Base):
    __tablename__ = "platform_connections"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(50))
    account_id: Mapped[str] = mapped_column(String(200))
    account_name: Mapped[str | None] = mapped_column(String(200))
    access_token_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    refresh_token_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    token_expires_at: Mapped[datetime | None]
    scopes: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    revoked_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("user_id", "platform", "account_id"),)


class Publication(UUIDKey, Timestamps, Base):
    __tablename__ = "publications"

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("platform_connections.id", ondelete="SET NULL")
    )
    platform: Mapped[str] = mapped_column(String(50))
    status: Mapped[PublicationStatus] = mapped_column(
        str_enum(PublicationStatus, "publication_status"), default=PublicationStatus.SCHEDULED
    )
    scheduled_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(200))
    external_url: Mapped[str | None] = mapped_column(String(500))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))

    __table_args__ = (
        Index("ix_publications_video_id", "video_id"),
        Index("ix_publications_due", "scheduled_at", postgresql_where=text("status = 'scheduled'")),
    )


class SocialRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def publications_for_videos(self, video_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Publication]]:
        out: dict[uuid.UUID, list[Publication]] = {v: [] for v in video_ids}
        if not video_ids:
            return out
        for row in await self.session.scalars(select(Publication).where(Publication.video_id.in_(video_ids))):
            out[row.video_id].append(row)
        return out

    def add(self, row: Any) -> None:
        self.session.add(row)
