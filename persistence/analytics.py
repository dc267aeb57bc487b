"""Per-platform statistics of videos: current totals and a daily, date-partitioned history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, Numeric, PrimaryKeyConstraint, String, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base, UUIDKey


class VideoStatistics(UUIDKey, Base):
    __tablename__ = "video_statistics"

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(50), index=True)
    views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    likes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    dislikes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    shares: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    comments: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    watch_time_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    engagement_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (UniqueConstraint("video_id", "platform"),)


class VideoStatisticsDaily(Base):
    """One row per video, platform and day, partitioned by month on `date`.

    Partitions are created by `persistence.partitions.ensure_month_partitions`;
    a DEFAULT partition catches anything outside them so no write is ever refused.
    """

    __tablename__ = "video_statistics_daily"

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(50))
    date: Mapped[date] = mapped_column(Date)
    views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    likes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    shares: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    comments: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        PrimaryKeyConstraint("video_id", "platform", "date"),
        {"postgresql_partition_by": "RANGE (date)"},
    )


class AnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def statistics_for_videos(self, video_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[VideoStatistics]]:
        out: dict[uuid.UUID, list[VideoStatistics]] = {v: [] for v in video_ids}
        if not video_ids:
            return out
        stmt = select(VideoStatistics).where(VideoStatistics.video_id.in_(video_ids))
        for row in await self.session.scalars(stmt):
            out[row.video_id].append(row)
        return out
