"""The pipeline's stage jobs on ARQ.

One job per (video, run, stage) with a deterministic id, so enqueueing twice is a no-op.
A PostgreSQL advisory lock, held on its own connection for the whole stage, makes sure two
workers never run the same stage of the same video at once; if a worker dies the connection
drops and the lock with it. A finished stage hands on by enqueueing the next one.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from typing import TYPE_CHECKING, Any

from arq import Retry
from opentelemetry import context as otel_context

from domain import pipeline
from domain.ai.service import AIService
from domain.availability import unavailable_dependency
from domain.errors import DomainError
from domain.production import STAGE_WORK, StageWork, VideoSpec, clean_work_dir
from domain.progress import publish_event
from domain.video import cancel_flag
from jobs.stage_telemetry import observe_stage
from persistence.db import transaction
from persistence.enums import PipelineStage
from persistence.locks import advisory_lock
from providers.ai.base import AllProvidersFailedError, ProviderError
from runtime.telemetry import extract_context, inject_traceparent

if TYPE_CHECKING:
    from runtime.resources import Resources

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5


def job_id(video_id: uuid.UUID | str, run: int, stage: PipelineStage, suffix: str = "") -> str:
    return f"stage:{video_id}:{run}:{stage.value}{suffix}"


async def enqueue_stage(
    resources: Resources,
    video_id: uuid.UUID,
    run: int,
    stage: PipelineStage,
    *,
    defer: float | None = None,
    suffix: str = "",
) -> bool:
    # The current trace (the request that queued the video) travels with the job: see run_stage.
    traceparent = inject_traceparent().get("traceparent")
    carried: dict[str, Any] = {"traceparent": traceparent} if traceparent else {}
    job = await resources.arq.enqueue_job(
        "run_stage",
        str(video_id),
        run,
        stage.value,
        _job_id=job_id(video_id, run, stage, suffix),
        _queue_name=resources.queue_name,
        _defer_by=defer,
        **carried,
    )
    return job is not None


def _lock_key(video_id: uuid.UUID, stage: PipelineStage) -> str:
    return f"{video_id}:{stage.value}"


async def stage_is_running(resources: Resources, video_id: uuid.UUID, stage: PipelineStage) -> bool:
    """True while some worker holds the stage's lock. A dead worker's lock is gone with its
    connection, so this tells a crashed stage from a slow one."""
    async with stage_lock(resources, video_id, stage) as got:
        return not got


def stage_lock(resources: Resources, video_id: uuid.UUID, stage: PipelineStage) -> Any:
    return advisory_lock(resources.engine, _lock_key(video_id, stage))


def backoff(try_number: int, base: float = 2.0, cap: float = 120.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** max(0, try_number - 1)))


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, AllProvidersFailedError):
        return exc.transient
    if isinstance(exc, ProviderError):
        return exc.transient
    if isinstance(exc, DomainError):
        return False
    if unavailable_dependency(exc) is not None:
        return True  # PostgreSQL or Redis away for a moment: try the stage again later
    try:
        import media

        if isinstance(exc, media.MediaError):
            return isinstance(exc, media.RenderTimeoutError)
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, (TimeoutError, ConnectionError, OSError))


def user_message(stage: PipelineStage, exc: BaseException) -> str:
    """Words a user can act on; no internals."""
    name = stage.value
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, AllProvidersFailedError):
        return f"The {name} stage could not reach any AI provider ({exc}). Retry later."
    if isinstance(exc, ProviderError):
        return f"The {name} stage failed at {exc.provider}: {exc.message}"
    try:
        import media

        if isinstance(exc, media.MediaError):
            return f"Rendering failed: {exc.message}"
    except ImportError:  # pragma: no cover
        pass
    return f"The {name} stage failed unexpectedly. Retry the video; if it fails again, contact support."


async def _watch_cancel(
    resources: Resources, video_id: uuid.UUID, task: asyncio.Task[Any], work: StageWork
) -> None:
    key = cancel_flag(resources, video_id)
    while not task.done():
        try:
            cancelled = await resources.redis.exists(key)
        except Exception as exc:
            if unavailable_dependency(exc) is None:
                raise
            cancelled = False  # Redis is away: the stage carries on, watching again when it is back
        if cancelled:
            work.cancel.set()  # stops renders and provider threads
            task.cancel()
            return
        await asyncio.sleep(0.3)


async def run_stage(
    ctx: dict[str, Any], video_id: str, run: int, stage: str, traceparent: str | None = None
) -> str:
    resources = ctx["resources"]
    vid, st = uuid.UUID(video_id), PipelineStage(stage)
    # Continue the queuing request's trace; the next stage is enqueued inside it too.
    token = otel_context.attach(extract_context({"traceparent": traceparent} if traceparent else None))
    try:
        async with stage_lock(resources, vid, st) as got:
            if not got:
                return "busy"  # another worker holds this stage; it will hand on
            return await _run_locked(ctx, resources, vid, run, st)
    finally:
        otel_context.detach(token)


async def _run_locked(
    ctx: dict[str, Any], resources: Resources, vid: uuid.UUID, run: int, st: PipelineStage
) -> str:
    async with transaction(resources.sessionmaker) as session:
        claim = await pipeline.claim_stage(session, vid, run, st)
        if claim is None:
            return "skipped"
        video = claim.video
        outputs = await pipeline.latest_outputs(session, video)
        spec = VideoSpec(
            id=video.id,
            user_id=video.user_id,
            run=run,
            title=video.title,
            prompt=video.prompt,
            script=video.script_content if video.script_provided else None,
            aspect=video.aspect_ratio,
            target_seconds=video.target_duration,
            voice=video.voice,
            language=video.language,
            version=await pipeline.next_version(session, video.id),
            style=dict(video.style or {}),
        )
        event = pipeline.Event.of(video, f"{st.value} started" if not claim.already_done else None)
    await publish_event(resources, event)
    if not claim.already_done:
        result = await observe_stage(
            _execute(ctx, resources, spec, outputs, st),
            video_id=vid,
            run=run,
            stage=st.value,
            attempt=int(ctx.get("job_try", 1)),
        )
        if result != "done":
            return result
    return await _hand_on(resources, vid, run, st)


async def _execute(
    ctx: dict[str, Any],
    resources: Resources,
    spec: VideoSpec,
    outputs: dict[PipelineStage, dict[str, Any]],
    st: PipelineStage,
) -> str:
    settings = resources.settings
    work_dir = settings.work_dir / str(spec.id) / f"{spec.run}-{st.value}-{uuid.uuid4().hex[:6]}"
    work_dir.mkdir(parents=True, exist_ok=True)
    last_sent = [0.0]

    async def progress(within: int, message: str | None) -> None:
        loop = asyncio.get_running_loop()
        if within < 100 and loop.time() - last_sent[0] < PROGRESS_INTERVAL:
            return
        last_sent[0] = loop.time()
        async with transaction(resources.sessionmaker) as s:
            overall = await pipeline.set_stage_progress(s, spec.id, spec.run, st, within)
            video = await pipeline.find_video(s, spec.id)
        if overall is not None and video is not None:
            await publish_event(resources, pipeline.Event.of(video, message))

    work = StageWork(
        spec=spec,
        outputs=outputs,
        storage=resources.storage,
        ai=AIService.for_resources(resources),
        work_dir=work_dir,
        progress=progress,
        render_preset=settings.render_preset,
        render_crf=settings.render_crf,
        render_timeout=max(120.0, spec.target_seconds * 6.0),
    )
    task = asyncio.ensure_future(STAGE_WORK[st](work))
    watcher = asyncio.ensure_future(_watch_cancel(resources, spec.id, task, work))
    try:
        stage_outputs = await task
    except asyncio.CancelledError:
        if work.cancel.is_set():
            async with transaction(resources.sessionmaker) as session:
                await pipeline.mark_stage_cancelled(session, spec.id, spec.run, st)
            await _sweep_if_deleted(resources, spec.id)
            return "cancelled"
        raise
    except Exception as exc:
        return await _fail(ctx, resources, spec, st, exc)
    finally:
        watcher.cancel()
        await asyncio.to_thread(clean_work_dir, work_dir)

    event = None
    async with transaction(resources.sessionmaker) as session:
        video = await pipeline.complete_stage(session, spec.id, spec.run, st, stage_outputs)
        if video is not None:
            event = await _record_outputs(session, video, st, stage_outputs)
    if event is None:  # the video moved on (cancelled, another run) or is gone
        await _sweep_if_deleted(resources, spec.id)
        return "stale"
    await publish_event(resources, event)
    if st is PipelineStage.UPLOAD:
        # The published copy is the video's now; the run's render was only its staging copy.
        # (Script, narration and scenes stay: a retry or re-render reuses them.)
        await resources.storage.delete_prefix(f"{work.prefix}/render")
    return "done"


async def _record_outputs(session: Any, video: Any, st: PipelineStage, stage_outputs: dict[str, Any]) -> Any:
    """What a finished stage changes on the video itself; returns the event to publish."""
    if st is PipelineStage.SCRIPT:
        seo = stage_outputs["seo"]
        video.script_content = stage_outputs["narration"]
        video.seo_title, video.seo_description, video.seo_keywords = (
            seo["title"],
            seo["description"],
            seo["keywords"],
        )
    if st is PipelineStage.UPLOAD:
        await pipeline.finish_video(
            session,
            video,
            file_key=stage_outputs["video_key"],
            file_size=stage_outputs["video_size"],
            thumbnail_key=stage_outputs["thumbnail_key"],
            subtitles_key=stage_outputs["vtt_key"],
            duration=float(stage_outputs["duration"]),
            resolution=stage_outputs["resolution"],
            changes=video.processing_stages.get("changes"),
        )
    return pipeline.Event.of(
        video, f"{st.value} done" if st is not PipelineStage.UPLOAD else "Your video is ready"
    )


async def _sweep_if_deleted(resources: Resources, video_id: uuid.UUID) -> None:
    """A stage stopped because its video was deleted may have written files after deleteVideo
    removed the folder: remove them again, so nothing is left behind."""
    async with transaction(resources.sessionmaker) as session:
        exists = await pipeline.find_video(session, video_id) is not None
    if not exists:
        await resources.storage.delete_prefix(f"videos/{video_id}")


async def _fail(
    ctx: dict[str, Any], resources: Resources, spec: VideoSpec, st: PipelineStage, exc: Exception
) -> str:
    transient = is_transient(exc)
    try_number = int(ctx.get("job_try", 1))
    final = not transient or try_number >= resources.settings.job_max_tries
    message = user_message(st, exc)
    if transient:
        log.warning("stage %s of %s failed (try %s): %s", st.value, spec.id, try_number, exc)
    else:
        log.info(
            "stage %s of %s failed: %s", st.value, spec.id, exc, exc_info=not isinstance(exc, DomainError)
        )
    async with transaction(resources.sessionmaker) as session:
        video = await pipeline.record_stage_error(session, spec.id, spec.run, st, message, final=final)
    if video is not None and final:
        await publish_event(resources, pipeline.Event.of(video, message))
    if not final:
        raise Retry(defer=backoff(try_number))
    return "failed"


async def _hand_on(resources: Resources, vid: uuid.UUID, run: int, st: PipelineStage) -> str:
    nxt = pipeline.next_stage(st)
    if nxt is not None:
        try:
            await enqueue_stage(resources, vid, run, nxt)
        except Exception as exc:
            if unavailable_dependency(exc) is None:
                raise
            # PostgreSQL says this stage is done: the reconciler enqueues the next one once Redis
            # is back (the worker's supervisor runs it as soon as Redis answers again).
            log.warning("stage %s of %s not queued: Redis is unavailable", nxt.value, vid)
    return "done"


async def reconcile(ctx: dict[str, Any], *, recovering: bool = False) -> int:
    """Re-enqueue the current stage of videos in flight whose job is gone (a crashed worker's
    job is re-run by ARQ only after its timeout; this is faster and also covers lost enqueues).

    `recovering` (the worker supervisor, right after Redis came back) looks at every video in
    flight, not only those idle for a reconcile interval: enqueues that failed during the
    outage are redone at once. Safe because a stage that is running holds its lock (skipped
    here) and a duplicate job of a finished stage only hands on."""
    from datetime import timedelta

    from arq.jobs import Job, JobStatus

    resources = ctx["resources"]
    idle = 0 if recovering else max(2, resources.settings.reconcile_interval_seconds)
    stale_after = timedelta(seconds=idle)
    async with transaction(resources.sessionmaker) as session:
        todo = await pipeline.stranded(session, pipeline.now() - stale_after)
    count = 0
    for vid, run, stage in todo:
        status = await Job(job_id(vid, run, stage), resources.arq, _queue_name=resources.queue_name).status()
        if status in (JobStatus.queued, JobStatus.deferred):
            continue
        if await stage_is_running(resources, vid, stage):
            continue  # alive, merely slow (ARQ still calls a dead worker's job "in progress")
        suffix = f":r{uuid.uuid4().hex[:6]}"
        if await enqueue_stage(resources, vid, run, stage, suffix=suffix):
            count += 1
    return count
