"""Statistics refresh (fake platform) and the analytics queries, in the test's rolled-back transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from jobs.analytics import refresh_statistics
from persistence.ai import AIGeneration
from persistence.analytics import VideoStatisticsDaily
from persistence.enums import GenerationType, PublicationStatus, Role, VideoStatus
from persistence.partitions import partition_name
from persistence.publishing import Publication
from providers.social.base import Credentials, PlatformStats
from schema.node import to_global_id
from tests.factories import make_user, make_video, principal_for
from tests.gql import codes, execute

Q = """query($from: DateTime, $to: DateTime) { analytics(from: $from, to: $to) {
  totalViews totalLikes totalShares totalComments engagementRate videosCreated videosCompleted aiCostUsd
  daily { date views likes shares comments } } }"""


class FakeStats:
    platform = "youtube"

    def __init__(self) -> None:
        self.stats: dict[str, PlatformStats] = {}

    async def upload(self, credentials, request):
        raise AssertionError("not in these tests")

    async def statistics(self, credentials: Credentials, external_ids: list[str]) -> dict[str, PlatformStats]:
        assert credentials.access_token == "tok"
        return {i: self.stats[i] for i in external_ids if i in self.stats}


async def published(session, resources, owner, video, external_id: str):
    from domain import crypto
    from persistence.publishing import PlatformConnection

    conn = PlatformConnection(
        user_id=owner.id,
        platform="youtube",
        account_id=f"acc-{external_id}",
        access_token_encrypted=crypto.encrypt(resources.settings, "tok"),
    )
    session.add(conn)
    await session.flush()
    session.add(
        Publication(
            video_id=video.id,
            user_id=owner.id,
            connection_id=conn.id,
            platform="youtube",
            status=PublicationStatus.PUBLISHED,
            external_id=external_id,
            published_at=datetime.now(UTC),
        )
    )
    await session.flush()


async def test_refresh_and_creator_analytics(resources, session) -> None:
    fake = FakeStats()
    resources.social_adapters = {"youtube": fake}
    owner = await make_user(session, roles=(Role.CREATOR,))
    other = await make_user(session)
    v1 = await make_video(session, owner, status=VideoStatus.COMPLETED)
    await make_video(session, owner, status=VideoStatus.FAILED)  # created, not completed
    old = await make_video(session, owner, status=VideoStatus.COMPLETED)
    theirs = await make_video(session, other, status=VideoStatus.COMPLETED)
    await session.execute(
        text("UPDATE videos SET created_at = now() - interval '90 days' WHERE id = :id"), {"id": old.id}
    )
    for v, ext in ((v1, "a"), (theirs, "z")):
        await published(session, resources, owner if v.user_id == owner.id else other, v, ext)
    for cost, days_ago, who in (
        (Decimal("0.25"), 1, owner),
        (Decimal("1.5"), 100, owner),
        (Decimal("7"), 1, other),
    ):
        g = AIGeneration(
            user_id=who.id, type=GenerationType.TEXT, provider="offline", prompt="p", cost_usd=cost
        )
        session.add(g)
        await session.flush()
        await session.execute(
            text("UPDATE ai_generations SET created_at = now() - make_interval(days => :d) WHERE id = :id"),
            {"d": days_ago, "id": g.id},
        )
    # Yesterday's row exists: today's row holds only what was gained since.
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    session.add(VideoStatisticsDaily(video_id=v1.id, platform="youtube", date=yesterday, views=40, likes=2))
    await session.flush()

    fake.stats = {
        "a": PlatformStats(views=200, likes=20, shares=4, comments=6),
        "z": PlatformStats(views=999),
    }
    assert await refresh_statistics({"resources": resources}) == 2
    fake.stats["a"] = PlatformStats(views=250, likes=21, shares=4, comments=6)  # later the same day
    assert await refresh_statistics({"resources": resources}) == 2
    month = datetime.now(UTC).date().replace(day=1)
    assert await session.scalar(text("SELECT to_regclass(:n)"), {"n": partition_name(month)}) is not None

    r = await execute(resources, Q, {}, principal_for(owner))
    assert r.errors is None, r.errors
    a = r.data["analytics"]
    assert (a["totalViews"], a["totalLikes"], a["totalShares"], a["totalComments"]) == (250, 21, 4, 6)
    assert abs(a["engagementRate"] - (21 + 6 + 4) / 250) < 1e-9
    assert (a["videosCreated"], a["videosCompleted"]) == (2, 1)  # `old` is outside the 30 days
    assert abs(a["aiCostUsd"] - 0.25) < 1e-9
    assert len(a["daily"]) == 31 and a["daily"][-1]["date"] == datetime.now(UTC).date().isoformat()
    by_date = {d["date"]: d for d in a["daily"]}
    assert by_date[yesterday.isoformat()]["views"] == 40
    assert by_date[datetime.now(UTC).date().isoformat()] == {
        "date": datetime.now(UTC).date().isoformat(),
        "views": 210,
        "likes": 19,
        "shares": 4,
        "comments": 6,
    }

    q = "query($id: ID!) { video(id: $id) { statistics { platform views engagementRate } } }"
    r = await execute(resources, q, {"id": str(to_global_id("Video", v1.id))}, principal_for(owner))
    assert r.data["video"]["statistics"] == [{"platform": "youtube", "views": 250, "engagementRate": 0.124}]

    # A window a year back holds the old video and cost, and no daily rows.
    start = (datetime.now(UTC) - timedelta(days=120)).isoformat()
    end = (datetime.now(UTC) - timedelta(days=60)).isoformat()
    r = await execute(resources, Q, {"from": start, "to": end}, principal_for(owner))
    a = r.data["analytics"]
    assert (a["videosCreated"], a["aiCostUsd"]) == (1, 1.5) and all(d["views"] == 0 for d in a["daily"])

    admin = await make_user(session, roles=(Role.ADMIN,))
    r = await execute(
        resources, "{ adminAnalytics { totalViews aiCostUsd } }", None, principal_for(admin, (Role.ADMIN,))
    )
    assert r.errors is None and r.data["adminAnalytics"]["totalViews"] >= 250 + 999
    r = await execute(resources, "{ adminAnalytics { totalViews } }", None, principal_for(owner))
    assert codes(r) == ["FORBIDDEN"]


async def test_analytics_window_is_checked(resources, session) -> None:
    user = await make_user(session, roles=(Role.USER,))
    me = principal_for(user, (Role.USER,))
    r = await execute(
        resources, Q, {"from": "2030-02-01T00:00:00+00:00", "to": "2030-01-01T00:00:00+00:00"}, me
    )
    assert codes(r) == ["BAD_USER_INPUT"]
    r = await execute(
        resources, Q, {"from": "2020-01-01T00:00:00+00:00", "to": "2030-01-01T00:00:00+00:00"}, me
    )
    assert codes(r) == ["BAD_USER_INPUT"]
    r = await execute(resources, Q, {}, None)
    assert codes(r) == ["UNAUTHENTICATED"]
    r = await execute(
        resources, Q, {"from": "2030-01-01T00:00:00+00:00", "to": "2030-01-03T12:00:00+00:00"}, me
    )
    assert r.errors is None
    assert [d["date"] for d in r.data["analytics"]["daily"]] == ["2030-01-01", "2030-01-02", "2030-01-03"]
    assert r.data["analytics"]["engagementRate"] == 0.0
