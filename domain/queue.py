"""The job queue as the domain sees it (a port): jobs/queue.py implements it over ARQ and
runtime.resources.Resources carries it as `resources.queue`.

The domain enqueues only from after-commit hooks (domain.hooks), so a request that rolls back
never starts work, and neither resolvers nor the domain import `jobs`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from persistence.enums import PipelineStage


class JobQueue(Protocol):
    async def enqueue_stage(self, video_id: uuid.UUID, run: int, stage: PipelineStage) -> bool:
        """Run `stage` of the video's `run`; False when that job is already queued."""
        ...

    async def enqueue_publication(self, publication_id: uuid.UUID, at: datetime | None = None) -> bool:
        """Publish at `at` (now when None or past); False when that job is already queued."""
        ...
