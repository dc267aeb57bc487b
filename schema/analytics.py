"""Creator analytics types."""

from __future__ import annotations

from datetime import date

import strawberry

from domain.analytics import Summary


@strawberry.type
class DailyMetric:
    date: date
    views: int
    likes: int
    shares: int
    comments: int


@strawberry.type
class CreatorAnalytics:
    total_views: int
    total_likes: int
    total_shares: int
    total_comments: int
    engagement_rate: float = strawberry.field(
        description="(likes + comments + shares) / views; 0 without views."
    )
    videos_created: int
    videos_completed: int
    ai_cost_usd: float
    daily: list[DailyMetric] = strawberry.field(
        description="Every date of the window: what the videos gained that day on their platforms."
    )

    @classmethod
    def from_summary(cls, s: Summary) -> CreatorAnalytics:
        return cls(
            total_views=s.total_views,
            total_likes=s.total_likes,
            total_shares=s.total_shares,
            total_comments=s.total_comments,
            engagement_rate=s.engagement_rate,
            videos_created=s.videos_created,
            videos_completed=s.videos_completed,
            ai_cost_usd=s.ai_cost_usd,
            daily=[
                DailyMetric(date=d.date, views=d.views, likes=d.likes, shares=d.shares, comments=d.comments)
                for d in s.daily
            ],
        )
