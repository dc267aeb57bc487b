"""Publishing jobs: one job per publication, with a deterministic id ("publish:<id>"), deferred
to its scheduledAt, and the cron that re-enqueues due publications whose job is gone.

The rules (state machine, retries, messages) are domain.publishing's; the job holds the
publication's advisory lock, so two workers never upload it at once, and turns the domain's
TryAgain into ARQ's Retry with backoff.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from arq import Retry

from domain import publishing
from domain.publishing import now
from jobs.video import backoff
from persistence.locks import advisory_lock

if TYPE_CHECKING:
    from runtime.resources import Resources


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


async def publish_video(ctx: dict[str, Any], publication_id: str) -> str:
    resources: Resources = ctx["resources"]
    pid = uuid.UUID(publication_id)
    try_number = int(ctx.get("job_try", 1))
    async with advisory_lock(resources.engine, f"publish:{pid}") as got:
        if not got:
            return "busy"
        try:
            return await publishing.publish(resources, pid, try_number)
        except publishing.TryAgain:
            raise Retry(defer=backoff(try_number)) from None


async def publish_due(ctx: dict[str, Any]) -> int:
    """Enqueue due SCHEDULED publications (and ones a lost worker left PUBLISHING) whose job is gone."""
    from arq.jobs import Job, JobStatus

    resources: Resources = ctx["resources"]
    count = 0
    for pid in await publishing.due_publications(resources):
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
