"""Videos, their per-stage processing history and their rendered versions."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    Row,
    Select,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base, Timestamps, UUIDKey, str_enum
from persistence.enums import AspectRatio, PipelineStage, StageStatus, VideoStatus


class Video(UUIDKey, Timestamps, Base):
    __tablename__ = "videos"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text)
    script_content: Mapped[str | None] = mapped_column(Text)
    script_provided: Mapped[bool] = mapped_column(default=False, server_default="false")
    status: Mapped[VideoStatus] = mapped_column(
        str_enum(VideoStatus, "video_status"), default=VideoStatus.PENDING, server_default="pending"
    )
    aspect_ratio: Mapped[AspectRatio] = mapped_column(
        str_enum(AspectRatio, "aspect_ratio"), default=AspectRatio.PORTRAIT
    )
    target_duration: Mapped[int] = mapped_column(Integer, default=60)
    voice: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(16), default="en")
    duration: Mapped[float | None] = mapped_column(Float)
    file_key: Mapped[str | None] = mapped_column(String(500))
    """Storage key of the current rendition; URLs are derived from keys, never stored."""
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    thumbnail_key: Mapped[str | None] = mapped_column(String(500))
    subtitles_key: Mapped[str | None] = mapped_column(String(500))
    resolution: Mapped[str | None] = mapped_column(String(20))
    format: Mapped[str | None] = mapped_column(String(10))
    platforms: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    tags: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    processing_progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    current_stage: Mapped[PipelineStage | None] = mapped_column(str_enum(PipelineStage, "current_stage"))
    processing_run: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Incremented each time processing (re)starts; stage rows and events belong to a run."""
    processing_stages: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'::jsonb")
    )
    """Per-run options: the stage to start from, overrides for a re-render."""
    processing_error: Mapped[str | None] = mapped_column(Text)
    failed_stage: Mapped[PipelineStage | None] = mapped_column(str_enum(PipelineStage, "failed_stage"))
    cancel_requested: Mapped[bool] = mapped_column(default=False, server_default="false")
    style: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    """Look of the render: captions on/off, intro and outro card texts."""
    seo_title: Mapped[str | None] = mapped_column(String(100))
    seo_description: Mapped[str | None] = mapped_column(Text)
    seo_keywords: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'::jsonb"))
    published_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_videos_user_id", "user_id"),
        Index("ix_videos_status", "status"),
        Index("ix_videos_created_at", "created_at"),
        Index("ix_videos_published_at", "published_at"),
        Index("ix_videos_tags", "tags", postgresql_using="gin"),
        Index("ix_videos_user_status_created", "user_id", "status", text("created_at DESC")),
        # Listing pages read these columns only: an index-only scan, no heap visit.
        Index(
            "ix_videos_list_cover",
            "user_id",
            text("created_at DESC"),
            postgresql_include=["title", "status", "duration", "thumbnail_key"],
        ),
        # The reconciler scans only videos in flight: a small partial index.
        Index(
            "ix_videos_in_flight",
            "updated_at",
            postgresql_where=text("status IN ('pending', 'processing')"),
        ),
        Index("ix_videos_title_search", text("to_tsvector('english', title)"), postgresql_using="gin"),
    )


class StageRunRow(UUIDKey, Base):
    """One row per (video, run, stage): the `video_processing_history` of the seed."""

    __tablename__ = "video_processing_history"

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    run: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    stage: Mapped[PipelineStage] = mapped_column(str_enum(PipelineStage, "pipeline_stage", 50))
    status: Mapped[StageStatus] = mapped_column(str_enum(StageStatus, "stage_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_message: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", default=dict, server_default=text("'{}'::jsonb")
    )
    """The stage's outputs (storage keys, timings) so a later run or a retry can reuse them."""

    __table_args__ = (
        UniqueConstraint("video_id", "run", "stage"),
        Index("ix_video_processing_history_video_id", "video_id"),
    )


class VideoVersion(UUIDKey, Base):
    __tablename__ = "video_versions"

    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    file_key: Mapped[str] = mapped_column(String(500))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    changes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (UniqueConstraint("video_id", "version"),)


@functools.lru_cache(maxsize=128)
def _page_statement(
    columns: tuple[str, ...] | None, owner_columns: tuple[str, ...], by_status: bool, after: bool
) -> Select[Any]:
    """One statement object per page shape, values bound at execution: building and hashing a
    SELECT of 40 labelled columns cost more than running it."""
    from persistence.user import User

    table, users = Video.__table__, User.__table__
    picked = [table.c[name] for name in (columns or [c.name for c in table.c])]
    picked += [users.c[name].label(f"owner_{name}") for name in owner_columns]
    stmt = select(*picked).where(table.c.user_id == bindparam("user_id"))
    if owner_columns:
        stmt = stmt.select_from(table.join(users, users.c.id == table.c.user_id))
    if by_status:
        stmt = stmt.where(table.c.status == bindparam("status", type_=table.c.status.type))
    if after:
        created = bindparam("after_created", type_=table.c.created_at.type)
        vid = bindparam("after_id", type_=table.c.id.type)
        stmt = stmt.where(
            (table.c.created_at < created) | ((table.c.created_at == created) & (table.c.id < vid))
        )
    limit = bindparam("limit", type_=Integer)
    return stmt.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit)


class VideoRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, video: Video) -> Video:
        self.session.add(video)
        return video

    async def get(self, video_id: uuid.UUID, *, for_update: bool = False) -> Video | None:
        if for_update:
            stmt = select(Video).where(Video.id == video_id).with_for_update()
            return (await self.session.scalars(stmt)).first()
        return await self.session.get(Video, video_id)

    async def get_many(self, ids: list[uuid.UUID]) -> list[Video]:
        if not ids:
            return []
        return list((await self.session.scalars(select(Video).where(Video.id.in_(ids)))).all())

    async def page_for_user(
        self,
        user_id: uuid.UUID,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        status: VideoStatus | None,
        columns: Sequence[str] | None = None,
        owner_columns: Sequence[str] = (),
    ) -> Sequence[Row[Any]]:
        """Newest first, keyset-paginated on (created_at, id), in one statement: only `columns`
        of each video (all when None) and, labelled `owner_<name>`, its owner's `owner_columns`
        (joined, not loaded row by row)."""
        stmt = _page_statement(
            tuple(columns) if columns is not None else None,
            tuple(owner_columns),
            status is not None,
            after is not None,
        )
        params: dict[str, Any] = {"user_id": user_id, "limit": limit}
        if status is not None:
            params["status"] = status
        if after is not None:
            params["after_created"], params["after_id"] = after
        return list((await self.session.execute(stmt, params)).all())

    async def count_for_users(
        self, user_ids: list[uuid.UUID], status: VideoStatus | None = None
    ) -> dict[uuid.UUID, int]:
        stmt = select(Video.user_id, func.count()).where(Video.user_id.in_(user_ids)).group_by(Video.user_id)
        if status is not None:
            stmt = stmt.where(Video.status == status)
        counts = {uid: 0 for uid in user_ids}
        for uid, n in (await self.session.execute(stmt)).all():
            counts[uid] = int(n)
        return counts

    async def count_in_flight(self, user_id: uuid.UUID, *, lock_owner: bool = False) -> int:
        if lock_owner:
            from persistence.user import User

            await self.session.execute(select(User.id).where(User.id == user_id).with_for_update())
        stmt = select(func.count()).where(
            Video.user_id == user_id, Video.status.in_([VideoStatus.PENDING, VideoStatus.PROCESSING])
        )
        return int(await self.session.scalar(stmt) or 0)

    async def delete(self, video: Video) -> None:
        await self.session.delete(video)

    async def stage_runs(self, video_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[StageRunRow]]:
        """The stage rows of each video's current run."""
        out: dict[uuid.UUID, list[StageRunRow]] = {vid: [] for vid in video_ids}
        if not video_ids:
            return out
        stmt = (
            select(StageRunRow)
            .join(Video, (Video.id == StageRunRow.video_id) & (Video.processing_run == StageRunRow.run))
            .where(StageRunRow.video_id.in_(video_ids))
        )
        for row in await self.session.scalars(stmt):
            out[row.video_id].append(row)
        return out

    async def stage_summaries(self, video_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
        """What a client reads of each video's current run (no stage outputs), in one statement."""
        out: dict[uuid.UUID, list[Any]] = {vid: [] for vid in video_ids}
        if not video_ids:
            return out
        runs = StageRunRow.__table__
        stmt = (
            select(
                runs.c.video_id,
                runs.c.stage,
                runs.c.status,
                runs.c.progress,
                runs.c.attempts,
                runs.c.started_at,
                runs.c.completed_at,
                runs.c.error_message,
            )
            .join(Video, (Video.id == runs.c.video_id) & (Video.processing_run == runs.c.run))
            .where(runs.c.video_id.in_(video_ids))
        )
        for row in (await self.session.execute(stmt)).all():
            out[row.video_id].append(row)
        return out

    async def stage_run(
        self, video_id: uuid.UUID, run: int, stage: PipelineStage, *, for_update: bool = False
    ) -> StageRunRow | None:
        stmt = select(StageRunRow).where(
            StageRunRow.video_id == video_id, StageRunRow.run == run, StageRunRow.stage == stage
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).first()

    async def all_stage_runs(self, video_id: uuid.UUID) -> list[StageRunRow]:
        stmt = select(StageRunRow).where(StageRunRow.video_id == video_id).order_by(StageRunRow.run)
        return list((await self.session.scalars(stmt)).all())

    def add_stage_run(self, row: StageRunRow) -> StageRunRow:
        self.session.add(row)
        return row

    async def versions(self, video_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[VideoVersion]]:
        out: dict[uuid.UUID, list[VideoVersion]] = {vid: [] for vid in video_ids}
        if not video_ids:
            return out
        stmt = select(VideoVersion).where(VideoVersion.video_id.in_(video_ids)).order_by(VideoVersion.version)
        for row in await self.session.scalars(stmt):
            out[row.video_id].append(row)
        return out

    async def next_version(self, video_id: uuid.UUID) -> int:
        stmt = select(func.coalesce(func.max(VideoVersion.version), 0)).where(
            VideoVersion.video_id == video_id
        )
        return int(await self.session.scalar(stmt) or 0) + 1

    def add_version(self, row: VideoVersion) -> None:
        self.session.add(row)

    async def in_flight_since(self, before: datetime, limit: int = 100) -> list[Video]:
        stmt = (
            select(Video)
            .where(Video.status.in_([VideoStatus.PENDING, VideoStatus.PROCESSING]), Video.updated_at < before)
            .order_by(Video.updated_at)
            .limit(limit)
        )
        return list((await self.session.scalars(stmt)).all())

    async def set_progress(self, video_id: uuid.UUID, run: int, progress: int) -> None:
        """Raise progress monotonically within a run, in one statement (concurrent-safe)."""
        await self.session.execute(
            update(Video)
            .where(Video.id == video_id, Video.processing_run == run, Video.processing_progress < progress)
            .values(processing_progress=progress)
        )
