"""Video types: the video, its stage runs, versions, statistics, progress events."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from domain import video as video_domain
from graphql_runtime.context import Info
from persistence.analytics import VideoStatistics as StatsRow
from persistence.enums import PipelineStage as StageE
from persistence.enums import StageStatus as StageStatusE
from persistence.enums import VideoStatus as VideoStatusE
from persistence.video import Video as VideoRow
from persistence.video import VideoVersion as VersionRow
from schema.common import (
    AspectRatio,
    PageInfo,
    PipelineStage,
    StageStatus,
    VideoStatus,
    decode_cursor,
    encode_cursor,
    page_size,
)
from schema.node import Node, to_global_id

if TYPE_CHECKING:
    from schema.publishing import Publication
    from schema.user import User


@strawberry.type
class StageRun:
    stage: PipelineStage
    status: StageStatus
    progress: int
    attempts: int
    started_at: datetime | None
    completed_at: datetime | None
    error_message: str | None


@strawberry.type
class VideoVersion:
    version: int
    file_url: str
    changes: str | None
    created_at: datetime


@strawberry.type
class VideoStatistics:
    platform: str
    views: int
    likes: int
    dislikes: int
    shares: int
    comments: int
    watch_time_seconds: float
    engagement_rate: float | None
    updated_at: datetime

    @classmethod
    def from_model(cls, row: StatsRow) -> VideoStatistics:
        return cls(
            platform=row.platform,
            views=row.views,
            likes=row.likes,
            dislikes=row.dislikes,
            shares=row.shares,
            comments=row.comments,
            watch_time_seconds=float(row.watch_time_seconds),
            engagement_rate=float(row.engagement_rate) if row.engagement_rate is not None else None,
            updated_at=row.updated_at,
        )


@strawberry.type
class Video(Node):
    row: strawberry.Private[VideoRow]
    title: str
    description: str | None
    prompt: str
    script_content: str | None
    status: VideoStatus
    processing_progress: int
    current_stage: PipelineStage | None
    processing_error: str | None
    duration: float | None
    resolution: str | None
    format: str | None
    platforms: list[str]
    tags: list[str]
    seo_title: str | None
    seo_description: str | None
    seo_keywords: list[str]
    aspect_ratio: AspectRatio
    target_duration_seconds: int
    voice: str | None
    language: str
    failed_stage: PipelineStage | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    preloaded_owner: strawberry.Private[Any] = None
    """The owner, when the page's query joined it."""

    @classmethod
    def from_model(cls, row: VideoRow) -> Video:
        return cls(
            id=to_global_id("Video", row.id),
            row=row,
            title=row.title,
            description=row.description,
            prompt=row.prompt,
            script_content=row.script_content,
            status=row.status,
            processing_progress=row.processing_progress,
            current_stage=row.current_stage,
            processing_error=row.processing_error,
            duration=row.duration,
            resolution=row.resolution,
            format=row.format,
            platforms=list(row.platforms or []),
            tags=list(row.tags or []),
            seo_title=row.seo_title,
            seo_description=row.seo_description,
            seo_keywords=list(row.seo_keywords or []),
            aspect_ratio=row.aspect_ratio,
            target_duration_seconds=row.target_duration,
            voice=row.voice,
            language=row.language,
            failed_stage=row.failed_stage,
            created_at=row.created_at,
            updated_at=row.updated_at,
            published_at=row.published_at,
        )

    @classmethod
    def from_rows(cls, rows: Sequence[Any]) -> list[Video]:
        """Videos from projected rows (see `video_columns`): only the selected attributes are
        set, which is all graphql-core reads. The attribute plan is made once per page."""
        if not rows:
            return []
        present = set(rows[0]._fields)
        plan = [(attr, col, conv) for attr, col, conv in _ATTRIBUTES if col in present]
        owner_cols = [c for c in rows[0]._fields if c.startswith("owner_")]
        owners: dict[Any, User] = {}  # a page is usually one owner's: build each once
        out = []
        for row in rows:
            video = cls.__new__(cls)
            video.id = to_global_id("Video", row.id)
            video.row = row
            for attr, col, conv in plan:
                value = getattr(row, col)
                setattr(video, attr, conv(value) if conv is not None and value is not None else value)
            if owner_cols:
                owner = owners.get(row.user_id)
                if owner is None:
                    owner = owners[row.user_id] = _owner_of(row, owner_cols)
                video.preloaded_owner = owner
            else:
                video.preloaded_owner = None
            out.append(video)
        return out

    @strawberry.field
    def owner(self, info: Info) -> Annotated[User, strawberry.lazy("schema.user")]:
        # Joined into the page's query when listed; loaded (batched) otherwise.
        if self.preloaded_owner is not None:
            return self.preloaded_owner  # type: ignore[no-any-return]
        return _load_owner(info, self.row.user_id)  # type: ignore[return-value]  # awaited by graphql-core

    @strawberry.field
    async def stages(self, info: Info) -> list[StageRun]:
        rows = await info.context.loaders.stage_runs.load(self.row.id)
        by_stage = {r.stage: r for r in rows}
        out = []
        for stage in StageE:
            r = by_stage.get(stage)
            out.append(
                StageRun(
                    stage=stage,
                    status=r.status if r else StageStatusE.PENDING,
                    progress=r.progress if r else 0,
                    attempts=r.attempts if r else 0,
                    started_at=r.started_at if r else None,
                    completed_at=r.completed_at if r else None,
                    error_message=r.error_message if r else None,
                )
            )
        return out

    @strawberry.field(
        description="An HTTP(S) URL the client can GET once COMPLETED (may be signed and expiring)."
    )
    async def file_url(self, info: Info) -> str | None:
        return await _media_url(info, self.row.file_key, self.row)

    @strawberry.field
    async def thumbnail_url(self, info: Info) -> str | None:
        return await _media_url(info, self.row.thumbnail_key, self.row)

    @strawberry.field(description="WebVTT captions matching the burned-in ones.")
    async def subtitles_url(self, info: Info) -> str | None:
        return await _media_url(info, self.row.subtitles_key, self.row)

    @strawberry.field(description="SubRip (SRT) captions: the same cues as subtitlesUrl.")
    async def subtitles_srt_url(self, info: Info) -> str | None:
        return await _media_url(info, video_domain.srt_key(self.row.subtitles_key), self.row)

    @strawberry.field
    async def versions(self, info: Info) -> list[VideoVersion]:
        rows: list[VersionRow] = await info.context.loaders.versions.load(self.row.id)
        out = []
        for r in rows:
            url = await _media_url(info, r.file_key, self.row)
            out.append(
                VideoVersion(
                    version=r.version, file_url=url or "", changes=r.changes, created_at=r.created_at
                )
            )
        return out

    @strawberry.field
    async def statistics(self, info: Info) -> list[VideoStatistics]:
        rows = await info.context.loaders.statistics.load(self.row.id)
        return [VideoStatistics.from_model(r) for r in rows]

    @strawberry.field(description="Where the video was published or is scheduled to be, oldest first.")
    async def publications(
        self, info: Info
    ) -> list[Annotated[Publication, strawberry.lazy("schema.publishing")]]:
        from schema.publishing import publications_of

        return await publications_of(info, self.row.id)


async def _load_owner(info: Info, user_id: uuid.UUID) -> User:
    from schema.user import User

    return User.from_model(await info.context.loaders.user.load(user_id))


def _owner_of(row: Any, columns: list[str]) -> User:
    from types import SimpleNamespace

    from schema.user import User

    return User.from_model(SimpleNamespace(**{c[6:]: getattr(row, c) for c in columns}))  # type: ignore[arg-type]


_ATTRIBUTES: list[tuple[str, str, Callable[[Any], Any] | None]] = [
    # (attribute of Video, column, conversion)
    ("title", "title", None),
    ("description", "description", None),
    ("prompt", "prompt", None),
    ("script_content", "script_content", None),
    ("status", "status", None),
    ("processing_progress", "processing_progress", None),
    ("current_stage", "current_stage", None),
    ("processing_error", "processing_error", None),
    ("duration", "duration", None),
    ("resolution", "resolution", None),
    ("format", "format", None),
    ("platforms", "platforms", list),
    ("tags", "tags", list),
    ("seo_title", "seo_title", None),
    ("seo_description", "seo_description", None),
    ("seo_keywords", "seo_keywords", list),
    ("aspect_ratio", "aspect_ratio", None),
    ("target_duration_seconds", "target_duration", None),
    ("voice", "voice", None),
    ("language", "language", None),
    ("failed_stage", "failed_stage", None),
    ("created_at", "created_at", None),
    ("updated_at", "updated_at", None),
    ("published_at", "published_at", None),
]

_COLUMNS_OF_FIELD: dict[str, tuple[str, ...]] = {
    "__typename": (),
    "id": (),
    "targetDurationSeconds": ("target_duration",),
    "fileUrl": ("file_key",),
    "thumbnailUrl": ("thumbnail_key",),
    "subtitlesUrl": ("subtitles_key",),
    "subtitlesSrtUrl": ("subtitles_key",),
    "owner": (),  # joined (OWNER_COLUMNS)
    "stages": (),  # by video id, batched
    "versions": (),
    "statistics": (),
    "publications": (),
    **{
        "".join(w.capitalize() if i else w for i, w in enumerate(attr.split("_"))): (col,)
        for attr, col, _ in _ATTRIBUTES
        if col != "target_duration"
    },
}
_ALWAYS = ("id", "user_id", "created_at")  # identity, access rules, cursor
OWNER_COLUMNS = (
    "id",
    "username",
    "email",
    "full_name",
    "bio",
    "avatar_url",
    "website",
    "location",
    "email_verified",
    "is_active",
    "created_at",
    "last_login_at",
)


def video_columns(fields: set[str]) -> tuple[str, ...] | None:
    """The video columns these Video fields need (None: every column)."""
    from graphql_runtime.projection import columns_for

    return columns_for(fields, _COLUMNS_OF_FIELD, _ALWAYS)


async def _media_url(info: Info, key: str | None, row: VideoRow) -> str | None:
    if not key:
        return None
    storage = info.context.resources.storage
    return await video_domain.media_url(storage, key)


@strawberry.type
class VideoEdge:
    cursor: str = strawberry.field(resolver=lambda root: edge_cursor(root))  # made when asked
    node: Video


def edge_cursor(edge: VideoEdge) -> str:
    return encode_cursor(edge.node.row.created_at, edge.node.row.id)


@strawberry.type
class VideoConnection:
    edges: list[VideoEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many videos match, all pages together (counted only when asked).")
    async def total_count(self) -> int:
        return await self.count()


async def video_connection(
    info: Info, owner_id: uuid.UUID, first: int | None, after: str | None, status: VideoStatusE | None
) -> VideoConnection:
    """One statement for the page (the owner joined when selected), one more for totalCount
    and one per batched list field (stages, versions…) when selected: never one per video."""
    from graphql_runtime.projection import selected

    limit = page_size(first)
    fields = selected(info, "edges", "node")
    context = info.context
    page = await video_domain.list_videos(
        context.session,
        context.principal,
        owner_id,
        limit=limit,
        after=decode_cursor(after),
        status=status,
        columns=video_columns(fields),
        owner_columns=OWNER_COLUMNS if "owner" in fields else (),
    )
    videos = Video.from_rows(page.rows)
    edges = [VideoEdge(node=v) for v in videos]

    async def count() -> int:
        return await video_domain.count_videos(context.session, context.principal, owner_id, status)

    return VideoConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_more,
            has_previous_page=after is not None,
            start_cursor=edge_cursor(edges[0]) if edges else None,
            end_cursor=edge_cursor(edges[-1]) if edges else None,
        ),
        count=count,
    )


@strawberry.type
class VideoProgressEvent:
    video_id: strawberry.ID
    status: VideoStatus
    stage: PipelineStage | None
    progress: int = strawberry.field(description="Overall 0..100; never decreases within one run.")
    message: str | None
    at: datetime
    run: int = 0


@strawberry.input
class CreateVideoInput:
    title: str
    prompt: str = strawberry.field(description="Topic or instructions for the script.")
    script: str | None = strawberry.field(
        default=None, description="Your own narration; when given, script generation is skipped."
    )
    description: str | None = None
    aspect_ratio: AspectRatio | None = AspectRatio.PORTRAIT
    target_duration_seconds: int | None = 60
    voice: str | None = strawberry.field(
        default=None, description="Provider voice id; the built-in offline voice when omitted."
    )
    language: str | None = "en"
    platforms: list[str] | None = strawberry.field(default_factory=list)
    tags: list[str] | None = strawberry.field(default_factory=list)
    captions: bool | None = strawberry.field(default=True, description="Burn captions into the video.")
    intro_text: str | None = strawberry.field(
        default=None, description="A title card before the video (≤ 100)."
    )
    outro_text: str | None = strawberry.field(default=None, description="A closing card (≤ 100).")
