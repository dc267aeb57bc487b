"""Platform connections (tokens encrypted at rest, never shown again) and publications of videos.

publish_video stores a SCHEDULED publication; the caller enqueues its job after commit
(jobs.publishing), and a cron picks up due publications whose job is gone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from domain import crypto
from domain.errors import BadInput, Conflict, NotFound
from domain.identity import Principal
from domain.permissions import Permission
from domain.video import KNOWN_PLATFORMS, get_video
from persistence.enums import PublicationStatus, VideoStatus
from persistence.publishing import PlatformConnection, Publication, PublishingRepository
from persistence.video import VideoRepository
from providers.social import build_adapters
from providers.social.base import PlatformAdapter
from runtime.settings import Settings

if TYPE_CHECKING:
    from runtime.resources import Resources

MAX_TOKEN = 8192


def now() -> datetime:
    return datetime.now(UTC)


def normalize_platform(platform: str, supported: set[str] | None = None) -> str:
    name = (platform or "").strip().lower()
    if name not in KNOWN_PLATFORMS:
        known = ", ".join(sorted(KNOWN_PLATFORMS))
        raise BadInput(f"Unknown platform {platform!r}; use one of {known}.", field="platform")
    if supported is not None and name not in supported:
        raise BadInput(
            f"Publishing to {name} is not available yet; supported: {', '.join(sorted(supported))}.",
            field="platform",
        )
    return name


@dataclass
class NewConnection:
    platform: str
    access_token: str
    account_id: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    account_name: str | None = None


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def connect_platform(
    session: AsyncSession, settings: Settings, principal: Principal, data: NewConnection
) -> PlatformConnection:
    user_id = principal.require(Permission.VIDEO_PUBLISH)
    platform = normalize_platform(data.platform)
    access = (data.access_token or "").strip()
    refresh = (data.refresh_token or "").strip() or None
    account_id = (data.account_id or "").strip()
    account_name = (data.account_name or "").strip() or None
    if not access:
        raise BadInput("Give the access token the platform issued.", field="accessToken")
    if len(access) > MAX_TOKEN or (refresh and len(refresh) > MAX_TOKEN):
        raise BadInput("The token is too long.", field="accessToken")
    if not account_id or len(account_id) > 200:
        raise BadInput("Give the platform account id (at most 200 characters).", field="accountId")
    if account_name and len(account_name) > 200:
        raise BadInput("The account name is longer than 200 characters.", field="accountName")
    values = {
        "account_name": account_name,
        "access_token_encrypted": crypto.encrypt(settings, access),
        "refresh_token_encrypted": crypto.encrypt(settings, refresh) if refresh else None,
        "token_expires_at": _aware(data.expires_at),
    }
    return await PublishingRepository(session).upsert_connection(user_id, platform, account_id, values)


async def list_connections(session: AsyncSession, principal: Principal) -> list[PlatformConnection]:
    user_id = principal.require(Permission.VIDEO_PUBLISH)
    return await PublishingRepository(session).connections(user_id)


async def disconnect_platform(session: AsyncSession, principal: Principal, connection_id: uuid.UUID) -> None:
    """Forget the account and its tokens. Publications keep their history; scheduled ones fall
    back to another account of the platform, or fail asking to reconnect."""
    user_id = principal.require(Permission.VIDEO_PUBLISH)
    repo = PublishingRepository(session)
    row = await repo.get_connection(connection_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such platform connection.")
    await repo.delete_connection(row)


async def publish_video(
    session: AsyncSession,
    principal: Principal,
    video_id: uuid.UUID,
    platform: str,
    scheduled_at: datetime | None,
    supported: set[str],
) -> Publication:
    """A SCHEDULED publication of the caller's COMPLETED video; the caller enqueues its job after commit."""
    user_id = principal.require(Permission.VIDEO_PUBLISH)
    video = await VideoRepository(session).get(video_id, for_update=True)  # serializes publishes of one video
    if video is None or video.user_id != user_id:
        raise NotFound("No such video.")
    name = normalize_platform(platform, supported)
    if video.status is not VideoStatus.COMPLETED:
        raise Conflict(f"Only a completed video can be published; this one is {video.status.value}.")
    repo = PublishingRepository(session)
    connection = await repo.active_connection(user_id, name)
    if connection is None:
        raise BadInput(
            f"Connect your {name} account first (connectPlatform), then publish.", field="platform"
        )
    existing = await repo.live_publication(video.id, name)
    if existing is not None:
        raise Conflict(f"This video is already {existing.status.value} on {name}.")
    when = max(now(), _aware(scheduled_at) or now())
    pub = Publication(
        video_id=video.id,
        user_id=user_id,
        connection_id=connection.id,
        platform=name,
        status=PublicationStatus.SCHEDULED,
        scheduled_at=when,
    )
    repo.add(pub)
    await session.flush()
    await session.refresh(pub)
    return pub


async def publications_of_video(
    session: AsyncSession,
    principal: Principal,
    video_id: uuid.UUID,
) -> list[Publication]:
    """Whoever may read the video may read its publications."""
    video = await get_video(session, principal, video_id)
    return await PublishingRepository(session).publications_of_video(video.id)


async def get_publication(
    session: AsyncSession, principal: Principal, publication_id: uuid.UUID
) -> Publication:
    """Readable by whoever may read its video; otherwise NOT_FOUND."""
    row = await PublishingRepository(session).get_publication(publication_id)
    if row is None:
        raise NotFound("No such publication.")
    await get_video(session, principal, row.video_id)
    return row


async def get_connection(
    session: AsyncSession, principal: Principal, connection_id: uuid.UUID
) -> PlatformConnection:
    user_id = principal.require(Permission.VIDEO_PUBLISH)
    row = await PublishingRepository(session).get_connection(connection_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such platform connection.")
    return row


def adapters(resources: Resources) -> dict[str, PlatformAdapter]:
    """The process's platform adapters, built once (tests set fakes in resources.social_adapters)."""
    if resources.social_adapters is None:
        resources.social_adapters = build_adapters(resources.settings.youtube_base_url)
    return dict(resources.social_adapters)
