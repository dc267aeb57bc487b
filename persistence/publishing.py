"""Connections to social platforms (tokens encrypted at rest) and publications of videos."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, select, text
from sqlalchemy.dialects.postgresql import insert
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


class PublishingRepository:
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

    # ---------------------------------------------------------------- connections

    async def upsert_connection(
        self,
        user_id: uuid.UUID,
        platform: str,
        account_id: str,
        values: dict[str, Any],
    ) -> PlatformConnection:
        """Connect (or reconnect: new tokens, not revoked) one account of a platform."""
        stmt = insert(PlatformConnection).values(
            user_id=user_id, platform=platform, account_id=account_id, **values
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=["user_id", "platform", "account_id"],
            set_={**values, "revoked_at": None, "updated_at": text("now()")},
        ).returning(PlatformConnection.id)
        conn_id = (await self.session.execute(upsert)).scalar_one()
        row = await self.session.get(PlatformConnection, conn_id, populate_existing=True)
        assert row is not None
        return row

    async def connections(self, user_id: uuid.UUID) -> list[PlatformConnection]:
        stmt = (
            select(PlatformConnection)
            .where(PlatformConnection.user_id == user_id, PlatformConnection.revoked_at.is_(None))
            .order_by(PlatformConnection.platform, PlatformConnection.created_at)
        )
        return list(await self.session.scalars(stmt))

    async def get_connection(self, connection_id: uuid.UUID) -> PlatformConnection | None:
        return await self.session.get(PlatformConnection, connection_id)

    async def active_connection(self, user_id: uuid.UUID, platform: str) -> PlatformConnection | None:
        """The most recently (re)connected account of the platform."""
        stmt = (
            select(PlatformConnection)
            .where(
                PlatformConnection.user_id == user_id,
                PlatformConnection.platform == platform,
                PlatformConnection.revoked_at.is_(None),
            )
            .order_by(PlatformConnection.updated_at.desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()

    async def delete_connection(self, row: PlatformConnection) -> None:
        await self.session.delete(row)
        await self.session.flush()

    # ---------------------------------------------------------------- publications

    async def get_publication(
        self, publication_id: uuid.UUID, *, for_update: bool = False
    ) -> Publication | None:
        if for_update:
            stmt = select(Publication).where(Publication.id == publication_id).with_for_update()
            return (await self.session.scalars(stmt)).first()
        return await self.session.get(Publication, publication_id)

    async def publications_of_video(self, video_id: uuid.UUID) -> list[Publication]:
        stmt = select(Publication).where(Publication.video_id == video_id).order_by(Publication.created_at)
        return list(await self.session.scalars(stmt))

    async def live_publication(self, video_id: uuid.UUID, platform: str) -> Publication | None:
        """A publication of the video on the platform that is scheduled, under way or done."""
        stmt = (
            select(Publication)
            .where(
                Publication.video_id == video_id,
                Publication.platform == platform,
                Publication.status.in_(
                    [PublicationStatus.SCHEDULED, PublicationStatus.PUBLISHING, PublicationStatus.PUBLISHED]
                ),
            )
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()

    async def due(self, now: datetime, stuck_before: datetime, limit: int = 500) -> list[Publication]:
        """Scheduled publications whose time has come, and ones left PUBLISHING by a lost worker."""
        stmt = (
            select(Publication)
            .where(
                ((Publication.status == PublicationStatus.SCHEDULED) & (Publication.scheduled_at <= now))
                | (
                    (Publication.status == PublicationStatus.PUBLISHING)
                    & (Publication.updated_at < stuck_before)
                )
            )
            .order_by(Publication.scheduled_at)
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))

    async def published(self, limit: int = 5000) -> list[Publication]:
        stmt = (
            select(Publication)
            .where(Publication.status == PublicationStatus.PUBLISHED, Publication.external_id.is_not(None))
            .order_by(Publication.published_at.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))
