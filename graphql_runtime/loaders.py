"""DataLoaders, created per operation, so lists never issue one query per row."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from domain.identity import Principal

if TYPE_CHECKING:
    from runtime.resources import Resources

K = TypeVar("K")
V = TypeVar("V")


def _by_key(fetch: Callable[[list[K]], Awaitable[dict[K, V]]], default: Any = None) -> DataLoader[K, V]:
    async def load(keys: Sequence[K]) -> list[V]:
        found = await fetch(list(keys))
        return [found.get(k, default) for k in keys]

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, session: AsyncSession, principal: Principal, resources: Resources) -> None:
        from persistence.analytics import AnalyticsRepository
        from persistence.publishing import PublishingRepository
        from persistence.user import UserRepository
        from persistence.video import VideoRepository

        users, videos, stats = UserRepository(session), VideoRepository(session), AnalyticsRepository(session)
        publishing = PublishingRepository(session)

        async def fetch_users(ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
            return {u.id: u for u in await users.get_many(ids)}

        async def fetch_videos(ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
            return {v.id: v for v in await videos.get_many(ids)}

        async def fetch_publications(ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
            found = await publishing.publications_for_videos(ids)
            return {k: sorted(rows, key=lambda p: p.created_at) for k, rows in found.items()}

        self.user = _by_key(fetch_users)
        self.video = _by_key(fetch_videos)
        self.roles = _by_key(users.roles_of, default=[])
        self.stage_runs = _by_key(videos.stage_summaries, default=[])
        self.versions = _by_key(videos.versions, default=[])
        self.statistics = _by_key(stats.statistics_for_videos, default=[])
        self.publications = _by_key(fetch_publications, default=[])
