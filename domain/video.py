"""Videos: reading them under the access rules, creating, cancelling, retrying, deleting."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import NotFound
from domain.identity import Principal
from domain.permissions import Permission
from persistence.enums import VideoStatus
from persistence.video import Video, VideoRepository

MEDIA_URL_SECONDS = 6 * 3600


@dataclass
class Page:
    rows: list[Video]
    has_more: bool
    total: int


def can_read(principal: Principal, video: Video) -> bool:
    if principal.user_id == video.user_id:
        return principal.can(Permission.VIDEO_READ)
    return principal.can(Permission.ADMIN_USER_MANAGE) or principal.can(Permission.ADMIN_ANALYTICS_VIEW)


async def get_video(session: AsyncSession, principal: Principal, video_id: uuid.UUID) -> Video:
    """Another user's video reads as NOT_FOUND: its existence is not revealed."""
    video = await VideoRepository(session).get(video_id)
    if video is None or not can_read(principal, video):
        raise NotFound("No such video.")
    return video


async def list_videos(
    session: AsyncSession,
    principal: Principal,
    owner_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    status: VideoStatus | None,
) -> Page:
    if principal.user_id != owner_id and not principal.can(Permission.ADMIN_USER_MANAGE):
        return Page(rows=[], has_more=False, total=0)
    repo = VideoRepository(session)
    rows = await repo.page_for_user(owner_id, limit=limit + 1, after=after, status=status)
    total = (await repo.count_for_users([owner_id], status))[owner_id]
    return Page(rows=rows[:limit], has_more=len(rows) > limit, total=total)


async def media_url(storage, key: str) -> str:  # type: ignore[no-untyped-def]
    return str(await storage.url(key, expires_in=MEDIA_URL_SECONDS))
