"""The pipeline's state machine: runs, stages, progress and terminal states, kept in PostgreSQL.

A *run* is one pass of processing (the first, a retry, a re-render). Each stage of a run has
one `video_processing_history` row. A stage job claims its row, does its work outside any
transaction, then records its outputs; a job that runs twice finds the row COMPLETED and
only hands on. Progress only rises within a run; a terminal video never moves back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from persistence.enums import PipelineStage, StageStatus, VideoStatus
from persistence.video import StageRunRow, Video, VideoRepository, VideoVersion

STAGES: tuple[PipelineStage, ...] = tuple(PipelineStage)
WEIGHTS: dict[PipelineStage, int] = {
    PipelineStage.SCRIPT: 10,
    PipelineStage.NARRATION: 20,
    PipelineStage.VISUALS: 25,
    PipelineStage.ASSEMBLY: 40,
    PipelineStage.UPLOAD: 5,
}
assert sum(WEIGHTS.values()) == 100


def next_stage(stage: PipelineStage) -> PipelineStage | None:
    i = STAGES.index(stage)
    return STAGES[i + 1] if i + 1 < len(STAGES) else None


def overall_progress(stage: PipelineStage, within: int) -> int:
    """Weights of the stages before `stage` plus its share of `within` percent."""
    before = sum(WEIGHTS[s] for s in STAGES[: STAGES.index(stage)])
    return min(100, before + WEIGHTS[stage] * max(0, min(100, within)) // 100)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Event:
    """A progress event, as published and as sent to subscribers."""

    video_id: uuid.UUID
    user_id: uuid.UUID
    status: VideoStatus
    stage: PipelineStage | None
    progress: int
    message: str | None
    run: int
    at: datetime

    @classmethod
    def of(cls, video: Video, message: str | None = None) -> Event:
        return cls(
            video.id,
            video.user_id,
            video.status,
            video.current_stage,
            video.processing_progress,
            message,
            video.processing_run,
            now(),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "videoId": str(self.video_id),
            "userId": str(self.user_id),
            "status": self.status.value,
            "stage": self.stage.value if self.stage else None,
            "progress": self.progress,
            "message": self.message,
            "run": self.run,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(
            uuid.UUID(data["videoId"]),
            uuid.UUID(data["userId"]),
            VideoStatus(data["status"]),
            PipelineStage(data["stage"]) if data.get("stage") else None,
            int(data["progress"]),
            data.get("message"),
            int(data.get("run", 0)),
            datetime.fromisoformat(data["at"]),
        )


def start_run(
    video: Video,
    repo: VideoRepository,
    previous: list[StageRunRow],
    from_stage: PipelineStage,
    options: dict[str, Any] | None = None,
) -> PipelineStage:
    """Begin a new run at `from_stage`; earlier stages reuse the previous run's outputs.
    Returns the first stage to run."""
    video.processing_run += 1
    video.status = VideoStatus.PENDING
    video.cancel_requested = False
    video.processing_error = None
    video.failed_stage = None
    video.current_stage = from_stage
    video.processing_stages = {"from": from_stage.value, **(options or {})}
    done = {r.stage: r for r in previous if r.status in (StageStatus.COMPLETED, StageStatus.SKIPPED)}
    progress = 0
    for stage in STAGES[: STAGES.index(from_stage)]:
        old = done.get(stage)
        repo.add_stage_run(
            StageRunRow(
                video_id=video.id,
                run=video.processing_run,
                stage=stage,
                status=old.status if old else StageStatus.SKIPPED,
                progress=100,
                attempts=0,
                started_at=old.started_at if old else None,
                completed_at=old.completed_at if old else None,
                metadata_=dict(old.metadata_) if old else {},
            )
        )
        progress += WEIGHTS[stage]
    video.processing_progress = progress
    return from_stage


async def latest_outputs(session: AsyncSession, video: Video) -> dict[PipelineStage, dict[str, Any]]:
    """The outputs of this run's finished stages."""
    rows = (await VideoRepository(session).stage_runs([video.id]))[video.id]
    return {
        r.stage: dict(r.metadata_) for r in rows if r.status in (StageStatus.COMPLETED, StageStatus.SKIPPED)
    }


async def find_video(session: AsyncSession, video_id: uuid.UUID) -> Video | None:
    """The video, whoever owns it (jobs act for the system), or None once deleted."""
    return await VideoRepository(session).get(video_id)


async def next_version(session: AsyncSession, video_id: uuid.UUID) -> int:
    return await VideoRepository(session).next_version(video_id)


async def stranded(session: AsyncSession, idle_since: datetime) -> list[tuple[uuid.UUID, int, PipelineStage]]:
    """(video, run, next stage) of videos in flight with no progress since `idle_since`."""
    todo = []
    for video in await VideoRepository(session).in_flight_since(idle_since):
        done = await latest_outputs(session, video)
        stage = next((s for s in STAGES if s not in done), None)
        if stage is not None:
            todo.append((video.id, video.processing_run, stage))
    return todo


@dataclass
class Claim:
    video: Video
    row: StageRunRow
    already_done: bool


async def _locked_on_run(repo: VideoRepository, video_id: uuid.UUID, run: int) -> Video | None:
    """The video, locked, while processing run `run` still owns it (None when it is gone,
    terminal, or on another run)."""
    video = await repo.get(video_id, for_update=True)
    if video is None or video.processing_run != run or video.status.terminal:
        return None
    return video


async def claim_stage(
    session: AsyncSession, video_id: uuid.UUID, run: int, stage: PipelineStage
) -> Claim | None:
    """Mark the stage RUNNING (or find it done). None when the video is gone, terminal,
    cancelled, or already on another run: the job then has nothing to do."""
    repo = VideoRepository(session)
    video = await _locked_on_run(repo, video_id, run)
    if video is None or video.cancel_requested:
        return None
    row = await repo.stage_run(video_id, run, stage, for_update=True)
    if row is not None and row.status in (StageStatus.COMPLETED, StageStatus.SKIPPED):
        return Claim(video, row, already_done=True)
    if row is None:
        row = repo.add_stage_run(
            StageRunRow(
                video_id=video_id,
                run=run,
                stage=stage,
                status=StageStatus.PENDING,
                attempts=0,
                progress=0,
                metadata_={},
            )
        )
    row.status = StageStatus.RUNNING
    row.attempts += 1
    row.started_at = row.started_at or now()
    row.error_message = None
    video.status = VideoStatus.PROCESSING
    video.current_stage = stage
    video.processing_progress = max(video.processing_progress, overall_progress(stage, 0))
    await session.flush()
    return Claim(video, row, already_done=False)


async def complete_stage(
    session: AsyncSession, video_id: uuid.UUID, run: int, stage: PipelineStage, outputs: dict[str, Any]
) -> Video | None:
    repo = VideoRepository(session)
    video = await _locked_on_run(repo, video_id, run)
    if video is None:
        return None
    row = await repo.stage_run(video_id, run, stage, for_update=True)
    if row is None:
        return None
    row.status = StageStatus.COMPLETED
    row.progress = 100
    row.completed_at = now()
    row.metadata_ = {**row.metadata_, **outputs}
    video.processing_progress = max(video.processing_progress, overall_progress(stage, 100))
    return video


async def record_stage_error(
    session: AsyncSession, video_id: uuid.UUID, run: int, stage: PipelineStage, message: str, *, final: bool
) -> Video | None:
    """A failed attempt; `final` fails the video (permanent error or retries used up)."""
    repo = VideoRepository(session)
    video = await _locked_on_run(repo, video_id, run)
    if video is None:
        return None
    row = await repo.stage_run(video_id, run, stage, for_update=True)
    if row is not None:
        row.error_message = message
        if final:
            row.status = StageStatus.FAILED
            row.completed_at = now()
    if final:
        video.status = VideoStatus.FAILED
        video.failed_stage = stage
        video.processing_error = message
    return video


async def finish_video(
    session: AsyncSession,
    video: Video,
    *,
    file_key: str,
    file_size: int,
    thumbnail_key: str,
    subtitles_key: str,
    duration: float,
    resolution: str,
    changes: str | None,
) -> VideoVersion:
    repo = VideoRepository(session)
    version = VideoVersion(
        video_id=video.id,
        version=await repo.next_version(video.id),
        file_key=file_key,
        file_size=file_size,
        changes=changes,
        created_by=video.user_id,
    )
    repo.add_version(version)
    video.file_key, video.file_size = file_key, file_size
    video.thumbnail_key, video.subtitles_key = thumbnail_key, subtitles_key
    video.duration, video.resolution, video.format = duration, resolution, "mp4"
    video.status = VideoStatus.COMPLETED
    video.processing_progress = 100
    video.current_stage = None
    return version


async def set_stage_progress(
    session: AsyncSession, video_id: uuid.UUID, run: int, stage: PipelineStage, within: int
) -> int | None:
    """Record progress inside a stage; returns the new overall progress (never lower)."""
    repo = VideoRepository(session)
    row = await repo.stage_run(video_id, run, stage)
    if row is None or row.status != StageStatus.RUNNING:
        return None
    row.progress = max(row.progress, within)
    overall = overall_progress(stage, within)
    await repo.set_progress(video_id, run, overall)
    video = await repo.get(video_id)
    if video is not None:
        await session.refresh(video, ["processing_progress", "updated_at"])
        video.updated_at = now()  # a heartbeat for the reconciler
        return video.processing_progress
    return None


async def mark_stage_cancelled(
    session: AsyncSession, video_id: uuid.UUID, run: int, stage: PipelineStage
) -> None:
    """The stage was stopped because the video was cancelled: it did not finish, and says why."""
    row = await VideoRepository(session).stage_run(video_id, run, stage, for_update=True)
    if row is not None and row.status is StageStatus.RUNNING:
        row.status = StageStatus.FAILED
        row.error_message = "Cancelled."
        row.completed_at = now()
