"""Publishing jobs and the statistics refresh.

One job per publication with a deterministic id ("publish:<id>"), deferred to its scheduledAt.
A PostgreSQL advisory lock per publication keeps two workers from uploading it at once, and a
PUBLISHED publication is never uploaded again. Transient platform errors retry with backoff;
permanent ones (and the last try) mark it FAILED with a message the user can act on.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from arq import Retry

from domain import crypto
from domain.publishing import adapters, now
from jobs.video import backoff
from persistence.analytics import AnalyticsRepository
from persistence.db import transaction
from persistence.enums import PublicationStatus
from persistence.locks import advisory_lock
from persistence.partitions import ensure_month_partitions
from persistence.publishing import PlatformConnection, Publication, PublishingRepository
from persistence.video import VideoRepository
from providers.social.base import Credentials, PlatformStats, SocialError, UploadRequest
from providers.storage.base import StorageError

if TYPE_CHECKING:
    from runtime.resources import Resources

log = logging.getLogger(__name__)


def publish_job_id(publication_id: uuid.UUID | str, suffix: str = "") -> str:
    return f"publish:{publication_id}{suffix}"


async def enqueue_publication(
    resources: Resources, publication_id: uuid.UUID, at: datetime | None = None, *, suffix: str = ""
) -> bool:
    when = at if at is not None and at > now() else None
    job = await resources.arq.enqueue_job(
        "publish_video",
        str(publication_id),
        _job_id=publish_job_id(publication_id, suffix),
        _queue_name=resources.queue_name,
        _defer_until=when,
    )
    return job is not None


def credentials(settings: Any, conn: PlatformConnection) -> Credentials:
    return Credentials(
        access_token=crypto.decrypt(settings, conn.access_token_encrypted),
        refresh_token=crypto.decrypt(settings, conn.refresh_token_encrypted)
        if conn.refresh_token_encrypted
        else None,
        expires_at=conn.token_expires_at,
        account_id=conn.account_id,
    )


class _Fail(Exception):
    """Ends the publication as FAILED with this message."""


async def publish_video(ctx: dict[str, Any], publication_id: str) -> str:
    resources = ctx["resources"]
    pid = uuid.UUID(publication_id)
    async with advisory_lock(resources.engine, f"publish:{pid}") as got:
        if not got:
            return "busy"
        return await _publish_locked(ctx, resources, pid)


async def _publish_locked(ctx: dict[str, Any], resources: Resources, pid: uuid.UUID) -> str:
    settings = resources.settings
    async with transaction(resources.sessionmaker) as session:
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
        title: str = video.seo_title or video.title
        description: str = video.seo_description or video.description or ""
        tags = list(dict.fromkeys([*(video.tags or []), *(video.seo_keywords or [])]))
        file_key = video.file_key
        resume = (pub.options or {}).get("upload_session")

    async def remember_session(url: str) -> None:
        # Kept before any byte is sent: a retry after a crash asks this session first.
        async with transaction(resources.sessionmaker) as s:
            row = await PublishingRepository(s).get_publication(pid, for_update=True)
            if row is not None:
                row.options = {**(row.options or {}), "upload_session": url}

    work = settings.work_dir / "publish" / f"{pid}-{uuid.uuid4().hex[:6]}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        path = await resources.storage.get_to_path(file_key, work / "video.mp4")
        result = await adapter.upload(
            creds,
            UploadRequest(
                path=path,
                title=title,
                description=description,
                tags=tags,
                resume_session=resume,
                on_session=remember_session,
            ),
        )
    except SocialError as exc:
        return await _upload_failed(ctx, resources, pid, exc.message, exc.transient)
    except StorageError:
        return await _upload_failed(
            ctx, resources, pid, "The video file could not be read from storage.", True
        )
    except (httpx.TransportError, TimeoutError, ConnectionError) as exc:
        return await _upload_failed(ctx, resources, pid, f"Network error ({type(exc).__name__}).", True)
    except Exception:
        log.exception("publishing %s failed", pid)
        return await _upload_failed(
            ctx, resources, pid, "Publishing failed unexpectedly; try again later.", False
        )
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)

    async with transaction(resources.sessionmaker) as session:
        pub = await PublishingRepository(session).get_publication(pid, for_update=True)
        if pub is None:
            log.warning(
                "publication %s was deleted during its upload (external id %s)", pid, result.external_id
            )
            return "gone"
        at = now()
        pub.status = PublicationStatus.PUBLISHED
        pub.external_id, pub.external_url = result.external_id, result.external_url
        pub.published_at, pub.error_message = at, None
        video = await VideoRepository(session).get(pub.video_id, for_update=True)
        if video is not None and video.published_at is None:
            video.published_at = at
    return "published"


def _finish_failed(pub: Publication, message: str) -> None:
    pub.status = PublicationStatus.FAILED
    pub.error_message = message


async def _upload_failed(
    ctx: dict[str, Any], resources: Resources, pid: uuid.UUID, message: str, transient: bool
) -> str:
    try_number = int(ctx.get("job_try", 1))
    final = not transient or try_number >= resources.settings.job_max_tries
    async with transaction(resources.sessionmaker) as session:
        pub = await PublishingRepository(session).get_publication(pid, for_update=True)
        if pub is None:
            return "gone"
        if final:
            _finish_failed(pub, message if not transient else f"{message} Gave up after {try_number} tries.")
        else:
            pub.error_message = f"{message} Retrying."
    if not final:
        raise Retry(defer=backoff(try_number))
    return "failed"


async def publish_due(ctx: dict[str, Any]) -> int:
    """Enqueue due SCHEDULED publications (and ones a lost worker left PUBLISHING) whose job is gone."""
    from arq.jobs import Job, JobStatus

    resources = ctx["resources"]
    stuck_before = now() - timedelta(seconds=resources.settings.stage_timeout_seconds + 60)
    async with transaction(resources.sessionmaker) as session:
        ids = [p.id for p in await PublishingRepository(session).due(now(), stuck_before)]
    count = 0
    for pid in ids:
        memo = resources.key("publish-job", str(pid))
        remembered = await resources.redis.get(memo)
        candidates = [publish_job_id(pid)] + ([remembered.decode()] if remembered else [])
        active = False
        for job_id in candidates:
            status = await Job(job_id, resources.arq, _queue_name=resources.queue_name).status()
            active = active or status in (JobStatus.queued, JobStatus.deferred, JobStatus.in_progress)
        if active:
            continue
        # The plain id is refused while an earlier run's result is kept; then a fresh suffix.
        if await enqueue_publication(resources, pid):
            count += 1
            continue
        suffix = f":r{uuid.uuid4().hex[:6]}"
        if await enqueue_publication(resources, pid, suffix=suffix):
            await resources.redis.set(memo, publish_job_id(pid, suffix), ex=24 * 3600)
            count += 1
    return count


async def refresh_statistics(ctx: dict[str, Any]) -> int:
    """Read current totals of every published video from its platform; upsert video_statistics and
    today's video_statistics_daily row. A platform or account that fails is skipped this round."""
    resources = ctx["resources"]
    settings = resources.settings
    available = adapters(resources)
    async with transaction(resources.sessionmaker) as session:
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
    today = now().date()
    async with transaction(resources.sessionmaker) as session:
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
