"""Creator analytics: platform statistics totals, daily metrics, videos made and AI spend, and the
refresh of platform statistics (jobs/analytics.py runs it twice an hour)."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import BadInput
from domain.identity import Principal
from domain.permissions import Permission
from domain.transactions import separate_transaction
from persistence.analytics import AnalyticsRepository
from persistence.partitions import ensure_month_partitions
from persistence.publishing import Publication, PublishingRepository
from providers.social.base import Credentials, PlatformStats, SocialError

if TYPE_CHECKING:
    from runtime.resources import Resources

log = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)


@dataclass
class Day:
    date: date
    views: int = 0
    likes: int = 0
    shares: int = 0
    comments: int = 0


@dataclass
class Summary:
    total_views: int
    total_likes: int
    total_shares: int
    total_comments: int
    engagement_rate: float
    videos_created: int
    videos_completed: int
    ai_cost_usd: float
    daily: list[Day]


def window(
    start: datetime | None, end: datetime | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """[from, to]: `to` defaults to now, `from` to 30 days before `to`; at most 366 days."""

    def aware(d: datetime | None) -> datetime | None:
        return d.replace(tzinfo=UTC) if d is not None and d.tzinfo is None else d

    end = aware(end) or now or datetime.now(UTC)
    start = aware(start) or end - DEFAULT_WINDOW
    if start > end:
        raise BadInput("`from` must not be after `to`.", field="from")
    if end - start > MAX_WINDOW:
        raise BadInput("The window is longer than 366 days; ask for a shorter one.", field="from")
    return start, end


async def summarize(
    session: AsyncSession, user_id: uuid.UUID | None, start: datetime, end: datetime
) -> Summary:
    repo = AnalyticsRepository(session)
    row = await repo.creator_summary(user_id, start, end)
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    found = {r["date"]: r for r in await repo.daily_metrics(user_id, first, last)}
    daily = []
    d = first
    while d <= last:  # every date of the window, zeros where nothing was recorded
        r = found.get(d)
        daily.append(
            Day(d, int(r["views"]), int(r["likes"]), int(r["shares"]), int(r["comments"])) if r else Day(d)
        )
        d += timedelta(days=1)
    views, likes, shares, comments = (int(row[k]) for k in ("views", "likes", "shares", "comments"))
    return Summary(
        total_views=views,
        total_likes=likes,
        total_shares=shares,
        total_comments=comments,
        engagement_rate=(likes + comments + shares) / views if views else 0.0,
        videos_created=int(row["created"]),
        videos_completed=int(row["completed"]),
        ai_cost_usd=float(row["ai_cost"]),
        daily=daily,
    )


async def creator_analytics(
    session: AsyncSession, principal: Principal, start: datetime | None, end: datetime | None
) -> Summary:
    user_id = principal.require(Permission.USER_READ)
    return await summarize(session, user_id, *window(start, end))


async def admin_analytics(
    session: AsyncSession,
    principal: Principal,
    start: datetime | None,
    end: datetime | None,
    user_id: uuid.UUID | None = None,
) -> Summary:
    """Across every user, or one user's, for ADMIN_ANALYTICS_VIEW."""
    principal.require(Permission.ADMIN_ANALYTICS_VIEW)
    return await summarize(session, user_id, *window(start, end))


async def refresh_statistics(resources: Resources) -> int:
    """Read current totals of every published video from its platform; upsert video_statistics and
    today's video_statistics_daily row. A platform or account that fails is skipped this round.
    Two transactions, none held while the platforms answer."""
    from domain import crypto
    from domain.publishing import adapters, credentials

    settings = resources.settings
    available = adapters(resources)
    async with separate_transaction(resources.sessionmaker, why="NOT_HELD_ACROSS_IO") as session:
        repo = PublishingRepository(session)
        groups: dict[tuple[str, uuid.UUID], list[Publication]] = defaultdict(list)
        for pub in await repo.published():
            if pub.platform in available and pub.connection_id is not None:
                groups[(pub.platform, pub.connection_id)].append(pub)
        creds: dict[uuid.UUID, Credentials] = {}
        for _, conn_id in groups:
            conn = await repo.get_connection(conn_id)
            if conn is not None and conn.revoked_at is None:
                with contextlib.suppress(crypto.DecryptionError):
                    creds[conn_id] = credentials(settings, conn)
    totals: dict[tuple[uuid.UUID, str], list[PlatformStats]] = defaultdict(list)
    for (platform, conn_id), pubs in groups.items():
        if conn_id not in creds:
            continue
        try:
            stats = await available[platform].statistics(creds[conn_id], [p.external_id or "" for p in pubs])
        except (SocialError, httpx.HTTPError) as exc:
            log.warning("statistics of %s (connection %s) not refreshed: %s", platform, conn_id, exc)
            continue
        for p in pubs:
            if p.external_id in stats:
                totals[(p.video_id, platform)].append(stats[p.external_id])
    if not totals:
        return 0
    today = datetime.now(UTC).date()
    async with separate_transaction(resources.sessionmaker, why="NOT_HELD_ACROSS_IO") as session:
        await ensure_month_partitions(await session.connection(), today)
        stats_repo = AnalyticsRepository(session)
        for (video_id, platform), found in sorted(totals.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
            s = PlatformStats(
                *(
                    sum(getattr(x, f) for x in found)
                    for f in ("views", "likes", "dislikes", "shares", "comments", "watch_time_seconds")
                )
            )
            await stats_repo.upsert_totals(
                video_id,
                platform,
                views=s.views,
                likes=s.likes,
                dislikes=s.dislikes,
                shares=s.shares,
                comments=s.comments,
                watch_time_seconds=s.watch_time_seconds,
            )
            await stats_repo.upsert_day(
                video_id, platform, today, views=s.views, likes=s.likes, shares=s.shares, comments=s.comments
            )
    return len(totals)
