"""Videos: reading them under the access rules, creating, cancelling, retrying, deleting.

What a change sets in motion outside the database (enqueueing the next stage, the cancel flag
a running stage watches in Redis, progress events, deleting files) is registered on the
caller's hooks and runs only once the transaction has committed (domain.hooks)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain import pipeline
from domain import video_input as rules
from domain.errors import BadInput, Conflict, NotFound, Throttled
from domain.hooks import Hooks
from domain.identity import Principal
from domain.permissions import Permission
from persistence.enums import AspectRatio, PipelineStage, VideoStatus
from persistence.video import Video, VideoRepository

if TYPE_CHECKING:
    from runtime.resources import Resources

MEDIA_URL_SECONDS = 6 * 3600
CANCEL_FLAG_SECONDS = 3600
"""How long the cancel flag stays: longer than any stage runs."""


def cancel_flag(resources: Resources, video_id: uuid.UUID) -> str:
    """The Redis key a running stage of the video watches (jobs/video.py): set, the stage stops."""
    return resources.key("cancel", str(video_id))


@dataclass
class Page:
    rows: Sequence[Any]
    """Video rows, or the projections of them the caller asked for (see list_videos)."""
    has_more: bool


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


def _may_list(principal: Principal, owner_id: uuid.UUID) -> bool:
    return principal.user_id == owner_id or principal.can(Permission.ADMIN_USER_MANAGE)


async def list_videos(
    session: AsyncSession,
    principal: Principal,
    owner_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    status: VideoStatus | None,
    columns: Sequence[str] | None = None,
    owner_columns: Sequence[str] = (),
) -> Page:
    """A page of the owner's videos, newest first. `columns` (all when None) and
    `owner_columns` (their owner, joined) say what the caller will read of them."""
    if not _may_list(principal, owner_id):
        return Page(rows=[], has_more=False)
    rows = await VideoRepository(session).page_for_user(
        owner_id, limit=limit + 1, after=after, status=status, columns=columns, owner_columns=owner_columns
    )
    return Page(rows=rows[:limit], has_more=len(rows) > limit)


async def count_videos(
    session: AsyncSession, principal: Principal, owner_id: uuid.UUID, status: VideoStatus | None
) -> int:
    if not _may_list(principal, owner_id):
        return 0
    return (await VideoRepository(session).count_for_users([owner_id], status))[owner_id]


async def media_url(storage, key: str) -> str:  # type: ignore[no-untyped-def]
    return str(await storage.url(key, expires_in=MEDIA_URL_SECONDS))


def srt_key(subtitles_key: str | None) -> str | None:
    """The SubRip file published beside the WebVTT one (the UPLOAD stage writes both, same cues)."""
    if not subtitles_key or not subtitles_key.endswith(".vtt"):
        return None
    return subtitles_key[: -len(".vtt")] + ".srt"


# ------------------------------------------------------------------ changes


KNOWN_PLATFORMS = rules.KNOWN_PLATFORMS


@dataclass
class NewVideo:
    title: str
    prompt: str
    script: str | None = None
    description: str | None = None
    aspect_ratio: AspectRatio = AspectRatio.PORTRAIT
    target_duration_seconds: int = 60
    voice: str | None = None
    language: str = "en"
    platforms: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    captions: bool = True
    intro_text: str | None = None
    outro_text: str | None = None


def validate_new_video(data: NewVideo, known_voices: set[str] | None = None) -> NewVideo:
    title = rules.title(data.title)
    prompt, script = rules.prompt(data.prompt), rules.script(data.script)
    if not prompt and not script:
        raise BadInput("Give a prompt (a topic) or your own script.", field="prompt")
    return NewVideo(
        title=title,
        prompt=prompt or title,
        script=script,
        description=rules.clean(data.description),
        aspect_ratio=data.aspect_ratio,
        target_duration_seconds=rules.duration(data.target_duration_seconds),
        voice=rules.voice(data.voice, known_voices),
        language=rules.language(data.language),
        platforms=rules.platforms(data.platforms),
        tags=rules.tags(data.tags),
        captions=data.captions,
        intro_text=rules.card(data.intro_text, "introText"),
        outro_text=rules.card(data.outro_text, "outroText"),
    )


@dataclass
class VideoChanges:
    """regenerateVideo's input: None leaves a setting as it is."""

    from_stage: PipelineStage | None = None
    voice: str | None = None
    """An id from `voices`, or "default" to go back to the default voice."""
    aspect_ratio: AspectRatio | None = None
    script: str | None = None


def validate_changes(changes: VideoChanges, known_voices: set[str] | None = None) -> dict[str, object]:
    """The video attributes to set, under the same rules as createVideo."""
    out: dict[str, object] = {}
    if changes.voice is not None:
        out["voice"] = rules.voice(changes.voice, known_voices)
    if changes.aspect_ratio is not None:
        out["aspect_ratio"] = changes.aspect_ratio
    script = rules.script(changes.script)
    if script is not None:
        out["script_content"] = script
    return out


def regenerate_from(changes: VideoChanges) -> PipelineStage:
    """The first stage a re-render must redo: a new script means SCRIPT; a new shape alone only
    VISUALS; otherwise from NARRATION (unless the caller chose)."""
    if changes.script is not None and changes.script.strip():
        return PipelineStage.SCRIPT
    if changes.from_stage is not None:
        return changes.from_stage
    if changes.aspect_ratio is not None and changes.voice is None:
        return PipelineStage.VISUALS
    return PipelineStage.NARRATION


async def _check_in_flight(session: AsyncSession, user_id: uuid.UUID, max_in_flight: int | None) -> None:
    if max_in_flight is None:
        return
    # Counted under a lock on the user's row, so parallel requests cannot slip past together.
    busy = await VideoRepository(session).count_in_flight(user_id, lock_owner=True)
    if busy >= max_in_flight:
        raise Throttled(
            f"You have {busy} videos in progress; wait for one to finish (or cancel one).",
            retry_after=30,
        )


async def create_video(
    session: AsyncSession,
    resources: Resources,
    hooks: Hooks,
    principal: Principal,
    data: NewVideo,
    known_voices: set[str] | None = None,
) -> Video:
    """Store the video as PENDING; its first stage is enqueued once the transaction has committed."""
    user_id = principal.require(Permission.VIDEO_CREATE)
    data = validate_new_video(data, known_voices)
    await _check_in_flight(session, user_id, resources.settings.max_videos_in_flight)
    video = Video(
        user_id=user_id,
        title=data.title,
        description=data.description,
        prompt=data.prompt,
        script_content=data.script,
        script_provided=data.script is not None,
        aspect_ratio=data.aspect_ratio,
        target_duration=data.target_duration_seconds,
        voice=data.voice,
        language=data.language,
        platforms=data.platforms,
        tags=data.tags,
        style={"captions": data.captions, "intro_text": data.intro_text, "outro_text": data.outro_text},
        processing_run=0,
        processing_progress=0,
    )
    repo = VideoRepository(session)
    repo.add(video)
    await session.flush()
    first = pipeline.start_run(video, repo, [], PipelineStage.SCRIPT)
    await session.flush()
    await session.refresh(video)
    _start_after_commit(resources, hooks, video, first, clear_cancel=False)
    return video


def _start_after_commit(
    resources: Resources, hooks: Hooks, video: Video, stage: PipelineStage, *, clear_cancel: bool
) -> None:
    """Once committed: clear an earlier cancel flag, enqueue the first stage, announce "Queued"."""
    from domain.progress import publish_event

    event = pipeline.Event.of(video, "Queued")
    video_id, run = video.id, video.processing_run

    async def start() -> None:
        if clear_cancel:
            await resources.redis.delete(cancel_flag(resources, video_id))
        await resources.queue.enqueue_stage(video_id, run, stage)
        await publish_event(resources, event)

    hooks.after_commit(start)


async def _own_video(
    session: AsyncSession, principal: Principal, video_id: uuid.UUID, permission: Permission
) -> Video:
    user_id = principal.require(permission)
    video = await VideoRepository(session).get(video_id, for_update=True)
    if video is None or (video.user_id != user_id and not principal.can(Permission.ADMIN_USER_MANAGE)):
        raise NotFound("No such video.")
    return video


async def cancel_video(
    session: AsyncSession, resources: Resources, hooks: Hooks, principal: Principal, video_id: uuid.UUID
) -> Video:
    """CANCELLED; once committed, the running stage is told to stop and "Cancelled" announced."""
    from domain.progress import publish_event

    video = await _own_video(session, principal, video_id, Permission.VIDEO_UPDATE)
    if video.status.terminal:
        raise Conflict(f"The video is already {video.status.value}; nothing to cancel.")
    video.status = VideoStatus.CANCELLED
    video.cancel_requested = True
    video.processing_error = "Cancelled by the user."
    await session.flush()
    await session.refresh(video)
    event = pipeline.Event.of(video, "Cancelled")

    async def stop_running_stage() -> None:
        await resources.redis.set(cancel_flag(resources, event.video_id), "1", ex=CANCEL_FLAG_SECONDS)
        await publish_event(resources, event)

    hooks.after_commit(stop_running_stage)
    return video


async def retry_video(
    session: AsyncSession, resources: Resources, hooks: Hooks, principal: Principal, video_id: uuid.UUID
) -> Video:
    """retryVideo: a failed or cancelled video starts again from the stage that stopped."""
    video = await _own_video(session, principal, video_id, Permission.VIDEO_UPDATE)
    if video.status not in (VideoStatus.FAILED, VideoStatus.CANCELLED):
        raise Conflict("Only a failed or cancelled video can be retried.")
    await _check_in_flight(session, video.user_id, resources.settings.max_videos_in_flight)
    stage = video.failed_stage or video.current_stage or PipelineStage.SCRIPT
    return await _start(session, resources, hooks, video, stage, None)


async def regenerate_video(
    session: AsyncSession,
    resources: Resources,
    hooks: Hooks,
    principal: Principal,
    video_id: uuid.UUID,
    changes: VideoChanges,
    *,
    known_voices: set[str] | None = None,
) -> Video:
    """regenerateVideo: re-render a finished video with changes (validated as createVideo
    validates them); the new render becomes a new version."""
    values = validate_changes(changes, known_voices)
    video = await _own_video(session, principal, video_id, Permission.VIDEO_UPDATE)
    if not video.status.terminal:
        raise Conflict("Wait for the video to finish (or cancel it) before re-rendering.")
    await _check_in_flight(session, video.user_id, resources.settings.max_videos_in_flight)
    for name, value in values.items():
        setattr(video, name, value)
    if "script_content" in values:
        video.script_provided = True
    return await _start(session, resources, hooks, video, regenerate_from(changes), _describe(values))


async def _start(
    session: AsyncSession,
    resources: Resources,
    hooks: Hooks,
    video: Video,
    from_stage: PipelineStage,
    changes: str | None,
) -> Video:
    repo = VideoRepository(session)
    previous = (await repo.stage_runs([video.id]))[video.id]
    stage = pipeline.start_run(video, repo, previous, from_stage, {"changes": changes} if changes else None)
    await session.flush()
    await session.refresh(video)
    # The cancel flag of an earlier run is cleared after the commit, before the stage is enqueued:
    # a request that rolls back leaves a cancelled run's flag in place.
    _start_after_commit(resources, hooks, video, stage, clear_cancel=True)
    return video


def _describe(values: dict[str, object]) -> str:
    parts = [
        f"{k.replace('_', ' ')}: {getattr(v, 'value', v) if v is not None else 'default'}"
        for k, v in values.items()
        if k != "script_content"
    ]
    if "script_content" in values:
        parts.append("new script")
    return "Re-rendered (" + ", ".join(parts) + ")" if parts else "Re-rendered"


async def delete_video(
    session: AsyncSession, resources: Resources, hooks: Hooks, principal: Principal, video_id: uuid.UUID
) -> uuid.UUID:
    """Deleted; once committed, a running stage is told to stop and the video's files go."""
    video = await _own_video(session, principal, video_id, Permission.VIDEO_DELETE)
    await VideoRepository(session).delete(video)
    deleted = video.id

    async def remove_files() -> None:
        await resources.redis.set(cancel_flag(resources, deleted), "1", ex=CANCEL_FLAG_SECONDS)
        await resources.storage.delete_prefix(f"videos/{deleted}")

    hooks.after_commit(remove_files)
    return deleted
