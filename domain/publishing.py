"""Platform connections (tokens encrypted at rest, never shown again), publications of videos,
and the publication state machine the publishing job runs.

publish_video stores a SCHEDULED publication and enqueues its job once the transaction has
committed (domain.hooks, domain.queue); a cron picks up due publications whose job is gone.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from domain import crypto
from domain.errors import BadInput, Conflict, NotFound
from domain.hooks import Hooks
from domain.identity import Principal
from domain.permissions import Permission
from domain.transactions import separate_transaction
from domain.video import KNOWN_PLATFORMS, get_video
from persistence.enums import PublicationStatus, VideoStatus
from persistence.publishing import PlatformConnection, Publication, PublishingRepository
from persistence.video import VideoRepository
from providers.social import build_adapters
from providers.social.base import Credentials, PlatformAdapter, SocialError, UploadRequest
from providers.storage.base import StorageError
from runtime.settings import Settings

if TYPE_CHECKING:
    from runtime.resources import Resources

log = logging.getLogger(__name__)

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
    resources: Resources,
    hooks: Hooks,
    principal: Principal,
    video_id: uuid.UUID,
    platform: str,
    scheduled_at: datetime | None,
) -> Publication:
    """A SCHEDULED publication of the caller's COMPLETED video; its job is enqueued once the
    transaction has committed."""
    user_id = principal.require(Permission.VIDEO_PUBLISH)
    supported = set(adapters(resources))
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
    publication_id, at = pub.id, pub.scheduled_at

    async def enqueue() -> None:
        await resources.queue.enqueue_publication(publication_id, at)

    hooks.after_commit(enqueue)
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


# The publication state machine. One job per publication runs `publish` while it holds the
# publication's advisory lock (jobs/publishing.py); a PUBLISHED or FAILED publication is never
# uploaded again. Each step below is its own short transaction: the upload between them takes
# minutes and must not hold a connection or row lock.


class TryAgain(Exception):
    """A transient failure with tries left: the job retries later (the message is recorded)."""


class _Fail(Exception):
    """Ends the publication as FAILED with this message."""


@dataclass(frozen=True)
class _Upload:
    adapter: PlatformAdapter
    credentials: Credentials
    request: UploadRequest
    file_key: str


def credentials(settings: Settings, conn: PlatformConnection) -> Credentials:
    return Credentials(
        access_token=crypto.decrypt(settings, conn.access_token_encrypted),
        refresh_token=crypto.decrypt(settings, conn.refresh_token_encrypted)
        if conn.refresh_token_encrypted
        else None,
        expires_at=conn.token_expires_at,
        account_id=conn.account_id,
    )


async def publish(resources: Resources, publication_id: uuid.UUID, try_number: int) -> str:
    """Upload one publication (the caller holds its lock). Returns the outcome ("published",
    "failed", "gone", "early" or the final status it already had); raises TryAgain."""
    pid = publication_id
    work = resources.settings.work_dir / "publish" / f"{pid}-{uuid.uuid4().hex[:6]}"
    claimed = await _claim(resources, pid, work)
    if isinstance(claimed, str):
        return claimed
    work.mkdir(parents=True, exist_ok=True)
    try:
        path = await resources.storage.get_to_path(claimed.file_key, work / "video.mp4")
        result = await claimed.adapter.upload(claimed.credentials, replace(claimed.request, path=path))
    except SocialError as exc:
        return await _upload_failed(resources, pid, exc.message, exc.transient, try_number)
    except StorageError:
        return await _upload_failed(
            resources, pid, "The video file could not be read from storage.", True, try_number
        )
    except (httpx.TransportError, TimeoutError, ConnectionError) as exc:
        return await _upload_failed(
            resources, pid, f"Network error ({type(exc).__name__}).", True, try_number
        )
    except Exception:
        log.exception("publishing %s failed", pid)
        return await _upload_failed(
            resources, pid, "Publishing failed unexpectedly; try again later.", False, try_number
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return await _record_published(resources, pid, result.external_id, result.external_url)


async def _claim(resources: Resources, pid: uuid.UUID, work: Path) -> _Upload | str:
    """PUBLISHING, one more attempt, and what the upload needs; or why there is nothing to upload."""
    settings = resources.settings
    async with separate_transaction(resources.sessionmaker, why="NOT_HELD_ACROSS_IO") as session:
        repo = PublishingRepository(session)
        pub = await repo.get_publication(pid, for_update=True)
        if pub is None:
            return "gone"
        if pub.status in (PublicationStatus.PUBLISHED, PublicationStatus.FAILED):
            return pub.status.value  # idempotent: never uploaded twice
        if (
            pub.status is PublicationStatus.SCHEDULED
            and pub.scheduled_at
            and pub.scheduled_at > now() + timedelta(seconds=5)
        ):
            return "early"  # the cron enqueues it when due
        video = await VideoRepository(session).get(pub.video_id)
        try:
            if video is None or not video.file_key:
                raise _Fail("The video file is gone; render the video again, then publish.")
            adapter = adapters(resources).get(pub.platform)
            if adapter is None:
                raise _Fail(f"Publishing to {pub.platform} is not available any more.")
            conn = await repo.get_connection(pub.connection_id) if pub.connection_id else None
            if conn is None or conn.revoked_at is not None:
                conn = await repo.active_connection(pub.user_id, pub.platform)
            if conn is None:
                raise _Fail(f"Your {pub.platform} account is disconnected; reconnect it, then publish again.")
            try:
                creds = credentials(settings, conn)
            except crypto.DecryptionError:
                raise _Fail(
                    f"The stored {pub.platform} token cannot be read; reconnect the account."
                ) from None
        except _Fail as exc:
            _finish_failed(pub, str(exc))
            return "failed"
        pub.connection_id = conn.id
        pub.status = PublicationStatus.PUBLISHING
        pub.attempts += 1

        async def remember_session(url: str) -> None:
            # Kept before any byte is sent: a retry after a crash asks this session first.
            async with separate_transaction(resources.sessionmaker, why="NOT_HELD_ACROSS_IO") as s:
                row = await PublishingRepository(s).get_publication(pid, for_update=True)
                if row is not None:
                    row.options = {**(row.options or {}), "upload_session": url}

        request = UploadRequest(
            path=work / "video.mp4",
            title=video.seo_title or video.title,
            description=video.seo_description or video.description or "",
            tags=list(dict.fromkeys([*(video.tags or []), *(video.seo_keywords or [])])),
            resume_session=(pub.options or {}).get("upload_session"),
            on_session=remember_session,
        )
        return _Upload(adapter=adapter, credentials=creds, request=request, file_key=video.file_key)


async def _record_published(
    resources: Resources, pid: uuid.UUID, external_id: str, external_url: str | None
) -> str:
    async with separate_transaction(resources.sessionmaker, why="NOT_HELD_ACROSS_IO") as session:
        pub = await PublishingRepository(session).get_publication(pid, for_update=True)
        if pub is None:
            log.warning("publication %s was deleted during its upload (external id %s)", pid, external_id)
            return "gone"
        at = now()
        pub.status = PublicationStatus.PUBLISHED
        pub.external_id, pub.external_url = external_id, external_url
        pub.published_at, pub.error_message = at, None
        video = await VideoRepository(session).get(pub.video_id, for_update=True)
        if video is not None and video.published_at is None:
            video.published_at = at
    return "published"


def _finish_failed(pub: Publication, message: str) -> None:
    pub.status = PublicationStatus.FAILED
    pub.error_message = message


async def _upload_failed(
    resources: Resources, pid: uuid.UUID, message: str, transient: bool, try_number: int
) -> str:
    final = not transient or try_number >= resources.settings.job_max_tries
    async with separate_transaction(resources.sessionmaker, why="NOT_HELD_ACROSS_IO") as session:
        pub = await PublishingRepository(session).get_publication(pid, for_update=True)
        if pub is None:
            return "gone"
        if final:
            _finish_failed(pub, message if not transient else f"{message} Gave up after {try_number} tries.")
        else:
            pub.error_message = f"{message} Retrying."
    if not final:
        raise TryAgain(message)
    return "failed"


async def due_publications(resources: Resources) -> list[uuid.UUID]:
    """Due SCHEDULED publications, and PUBLISHING ones a lost worker left behind."""
    stuck_before = now() - timedelta(seconds=resources.settings.stage_timeout_seconds + 60)
    async with separate_transaction(resources.sessionmaker, why="NOT_HELD_ACROSS_IO") as session:
        return [p.id for p in await PublishingRepository(session).due(now(), stuck_before)]
