"""Creator analytics: platform statistics totals, daily metrics, videos made and AI spend."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import BadInput
from domain.identity import Principal
from domain.permissions import Permission
from persistence.analytics import AnalyticsRepository

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
