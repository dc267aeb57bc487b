"""Videos: reading them under the access rules, creating, cancelling, retrying, deleting."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain import pipeline
from domain.errors import BadInput, Conflict, NotFound, Throttled
from domain.identity import Principal
from domain.permissions import Permission
from persistence.enums import AspectRatio, PipelineStage, VideoStatus
from persistence.video import Video, VideoRepository

MEDIA_URL_SECONDS = 6 * 3600


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


# ------------------------------------------------------------------ changes


MAX_TITLE, MAX_PROMPT, MAX_SCRIPT, MAX_TAGS, MAX_PLATFORMS = 200, 4000, 20000, 30, 10
MAX_CARD = 100
KNOWN_PLATFORMS = {"youtube", "tiktok", "instagram", "facebook", "twitter", "x", "linkedin"}


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


def _clean(value: str | None) -> str | None:
    return value.strip() if value is not None else None


def validate_new_video(data: NewVideo, known_voices: set[str] | None = None) -> NewVideo:
    title, prompt, script = _clean(data.title) or "", _clean(data.prompt) or "", _clean(data.script)
    if not title:
        raise BadInput("Give the video a title.", field="title")
    if len(title) > MAX_TITLE:
        raise BadInput(f"The title is longer than {MAX_TITLE} characters.", field="title")
    if not prompt and not script:
        raise BadInput("Give a prompt (a topic) or your own script.", field="prompt")
    if len(prompt) > MAX_PROMPT:
        raise BadInput(f"The prompt is longer than {MAX_PROMPT} characters.", field="prompt")
    if script is not None and len(script) > MAX_SCRIPT:
        raise BadInput(f"The script is longer than {MAX_SCRIPT} characters.", field="script")
    if script == "":
        script = None
    if not 10 <= data.target_duration_seconds <= 600:
        raise BadInput(
            "The target duration must be between 10 and 600 seconds.", field="targetDurationSeconds"
        )
    asked = (data.voice or "").strip()
    voice = None if asked.lower() in ("", "default") else asked
    if known_voices is not None and voice and voice not in known_voices:
        raise BadInput(f"Unknown voice {voice!r}; choose one from the voices list.", field="voice")
    platforms = [p.strip().lower() for p in data.platforms if p.strip()]
    if len(platforms) > MAX_PLATFORMS:
        raise BadInput(f"At most {MAX_PLATFORMS} platforms.", field="platforms")
    unknown = sorted(set(platforms) - KNOWN_PLATFORMS)
    if unknown:
        raise BadInput(f"Unknown platform(s): {', '.join(unknown)}.", field="platforms")
    tags = list(dict.fromkeys(t.strip() for t in data.tags if t.strip()))
    if len(tags) > MAX_TAGS:
        raise BadInput(f"At most {MAX_TAGS} tags.", field="tags")
    if any(len(t) > 50 for t in tags):
        raise BadInput("A tag is longer than 50 characters.", field="tags")
    intro, outro = _clean(data.intro_text) or None, _clean(data.outro_text) or None
    for name, card in (("introText", intro), ("outroText", outro)):
        if card is not None and len(card) > MAX_CARD:
            raise BadInput(f"The {name[:-4]} card is longer than {MAX_CARD} characters.", field=name)
    language = (data.language or "en").strip() or "en"
    if len(language) > 16:
        raise BadInput("Unknown language code.", field="language")
    return NewVideo(
        title=title,
        prompt=prompt or title,
        script=script,
        description=_clean(data.description),
        aspect_ratio=data.aspect_ratio,
        target_duration_seconds=data.target_duration_seconds,
        voice=voice,
        language=language,
        platforms=list(dict.fromkeys(platforms)),
        tags=tags,
        captions=data.captions,
        intro_text=intro,
        outro_text=outro,
    )


async def create_video(
    session: AsyncSession,
    principal: Principal,
    data: NewVideo,
    known_voices: set[str] | None = None,
    max_in_flight: int | None = None,
) -> tuple[Video, PipelineStage]:
    """Store the video as PENDING; the caller enqueues its first stage after commit."""
    user_id = principal.require(Permission.VIDEO_CREATE)
    data = validate_new_video(data, known_voices)
    if max_in_flight is not None:
        # Counted under a lock on the user's row, so parallel requests cannot slip past together.
        busy = await VideoRepository(session).count_in_flight(user_id, lock_owner=True)
        if busy >= max_in_flight:
            raise Throttled(
                f"You have {busy} videos in progress; wait for one to finish (or cancel one).",
                retry_after=30,
            )
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
    return video, first


async def _own_video(
    session: AsyncSession, principal: Principal, video_id: uuid.UUID, permission: Permission
) -> Video:
    user_id = principal.require(permission)
    video = await VideoRepository(session).get(video_id, for_update=True)
    if video is None or (video.user_id != user_id and not principal.can(Permission.ADMIN_USER_MANAGE)):
        raise NotFound("No such video.")
    return video


async def cancel_video(session: AsyncSession, principal: Principal, video_id: uuid.UUID) -> Video:
    video = await _own_video(session, principal, video_id, Permission.VIDEO_UPDATE)
    if video.status.terminal:
        raise Conflict(f"The video is already {video.status.value}; nothing to cancel.")
    video.status = VideoStatus.CANCELLED
    video.cancel_requested = True
    video.processing_error = "Cancelled by the user."
    await session.flush()
    await session.refresh(video)
    return video


async def restart_video(
    session: AsyncSession,
    principal: Principal,
    video_id: uuid.UUID,
    from_stage: PipelineStage | None = None,
    overrides: dict[str, object] | None = None,
) -> tuple[Video, PipelineStage]:
    """retryVideo (from the failed stage) and regenerateVideo (from a chosen stage, with changes)."""
    video = await _own_video(session, principal, video_id, Permission.VIDEO_UPDATE)
    repo = VideoRepository(session)
    if overrides is None:
        if video.status not in (VideoStatus.FAILED, VideoStatus.CANCELLED):
            raise Conflict("Only a failed or cancelled video can be retried.")
        from_stage = video.failed_stage or video.current_stage or PipelineStage.SCRIPT
    else:
        if not video.status.terminal:
            raise Conflict("Wait for the video to finish (or cancel it) before re-rendering.")
        for name, value in overrides.items():
            if value is not None:
                setattr(video, name, value)
        if overrides.get("script_content"):
            video.script_provided = True
            from_stage = PipelineStage.SCRIPT
    previous = (await repo.stage_runs([video.id]))[video.id]
    stage = pipeline.start_run(
        video,
        repo,
        previous,
        from_stage or PipelineStage.SCRIPT,
        {"changes": _describe(overrides)} if overrides else None,
    )
    await session.flush()
    await session.refresh(video)
    return video, stage


def _describe(overrides: dict[str, object]) -> str:
    parts = [
        f"{k.replace('_', ' ')}: {v.value if hasattr(v, 'value') else v}"
        for k, v in overrides.items()
        if v is not None and k != "script_content"
    ]
    if overrides.get("script_content"):
        parts.append("new script")
    return "Re-rendered (" + ", ".join(parts) + ")" if parts else "Re-rendered"


async def delete_video(session: AsyncSession, principal: Principal, video_id: uuid.UUID) -> uuid.UUID:
    video = await _own_video(session, principal, video_id, Permission.VIDEO_DELETE)
    await VideoRepository(session).delete(video)
    return video.id
