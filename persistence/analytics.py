"""Per-platform statistics of videos: current totals and a daily, date-partitioned history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base, UUIDKey
from persistence.enums import VideoStatus


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
    engagement_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    """(likes + comments + shares) / views, a ratio (0.0437 is 4.37 %)."""
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

    async def statistics_for_videos(
        self, video_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[VideoStatistics]]:
        out: dict[uuid.UUID, list[VideoStatistics]] = {v: [] for v in video_ids}
        if not video_ids:
            return out
        stmt = select(VideoStatistics).where(VideoStatistics.video_id.in_(video_ids))
        for row in await self.session.scalars(stmt):
            out[row.video_id].append(row)
        return out

    # ---------------------------------------------------------------- writes

    async def upsert_totals(
        self,
        video_id: uuid.UUID,
        platform: str,
        *,
        views: int,
        likes: int,
        dislikes: int,
        shares: int,
        comments: int,
        watch_time_seconds: int,
    ) -> None:
        """Current totals of one video on one platform, and the engagement ratio they give."""
        rate = Decimal(likes + comments + shares) / Decimal(views) if views > 0 else Decimal(0)
        rate = min(rate, Decimal("9999")).quantize(Decimal("0.000001"))
        values = {
            "views": views,
            "likes": likes,
            "dislikes": dislikes,
            "shares": shares,
            "comments": comments,
            "watch_time_seconds": watch_time_seconds,
            "engagement_rate": rate,
        }
        stmt = insert(VideoStatistics).values(video_id=video_id, platform=platform, **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["video_id", "platform"], set_={**values, "updated_at": func.now()}
        )
        await self.session.execute(stmt)

    async def upsert_day(
        self,
        video_id: uuid.UUID,
        platform: str,
        day: date,
        *,
        views: int,
        likes: int,
        shares: int,
        comments: int,
    ) -> None:
        """`day`'s row holds what the video gained that day: current totals minus the rows of the
        days before (never below zero), so the rows of a video add up to its totals."""
        sql = text(
            """
            WITH before AS (
                SELECT COALESCE(SUM(views), 0) AS views, COALESCE(SUM(likes), 0) AS likes,
                       COALESCE(SUM(shares), 0) AS shares, COALESCE(SUM(comments), 0) AS comments
                FROM video_statistics_daily
                WHERE video_id = :video_id AND platform = :platform AND date < :day
            )
            INSERT INTO video_statistics_daily (video_id, platform, date, views, likes, shares, comments)
            SELECT :video_id, :platform, :day,
                   GREATEST(0, :views - before.views), GREATEST(0, :likes - before.likes),
                   GREATEST(0, :shares - before.shares), GREATEST(0, :comments - before.comments)
            FROM before
            ON CONFLICT (video_id, platform, date) DO UPDATE SET
                views = EXCLUDED.views, likes = EXCLUDED.likes, shares = EXCLUDED.shares,
                comments = EXCLUDED.comments, updated_at = now()
            """
        )
        params = {
            "video_id": video_id,
            "platform": platform,
            "day": day,
            "views": views,
            "likes": likes,
            "shares": shares,
            "comments": comments,
        }
        await self.session.execute(sql, params)

    # ---------------------------------------------------------------- creator analytics

    async def creator_summary(
        self, user_id: uuid.UUID | None, start: datetime, end: datetime
    ) -> dict[str, Any]:
        """Totals over the user's videos (every user's when None): current statistics totals,
        videos created and completed among those created in [start, end], AI cost in [start, end]."""
        owner = "" if user_id is None else "AND v.user_id = :uid"
        sql = text(
            f"""
            SELECT t.views, t.likes, t.shares, t.comments,
              (SELECT COUNT(*) FROM videos v WHERE v.created_at >= :start AND v.created_at <= :end {owner})
                 AS created,
              (SELECT COUNT(*) FROM videos v WHERE v.created_at >= :start AND v.created_at <= :end
                 AND v.status = :completed {owner}) AS completed,
              (SELECT COALESCE(SUM(g.cost_usd), 0) FROM ai_generations g
                 WHERE g.created_at >= :start AND g.created_at <= :end
                 {"" if user_id is None else "AND g.user_id = :uid"}) AS ai_cost
            FROM (SELECT COALESCE(SUM(s.views), 0) AS views, COALESCE(SUM(s.likes), 0) AS likes,
                         COALESCE(SUM(s.shares), 0) AS shares, COALESCE(SUM(s.comments), 0) AS comments
                  FROM video_statistics s JOIN videos v ON v.id = s.video_id WHERE true {owner}) AS t
            """
        )
        params: dict[str, Any] = {"start": start, "end": end, "completed": VideoStatus.COMPLETED.value}
        if user_id is not None:
            params["uid"] = user_id
        row = (await self.session.execute(sql, params)).mappings().one()
        return dict(row)

    async def daily_metrics(self, user_id: uuid.UUID | None, first: date, last: date) -> list[dict[str, Any]]:
        """Per date in [first, last] that has rows, summed over the user's videos and platforms."""
        owner = "" if user_id is None else "AND v.user_id = :uid"
        sql = text(
            f"""
            SELECT d.date AS date, SUM(d.views) AS views, SUM(d.likes) AS likes,
                   SUM(d.shares) AS shares, SUM(d.comments) AS comments
            FROM video_statistics_daily d JOIN videos v ON v.id = d.video_id
            WHERE d.date >= :first AND d.date <= :last {owner}
            GROUP BY d.date ORDER BY d.date
            """
        )
        params: dict[str, Any] = {"first": first, "last": last}
        if user_id is not None:
            params["uid"] = user_id
        return [dict(r) for r in (await self.session.execute(sql, params)).mappings()]
