"""domain.queue.JobQueue over ARQ: what resolvers' after-commit hooks enqueue."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from persistence.enums import PipelineStage

if TYPE_CHECKING:
    from runtime.resources import Resources


class ArqQueue:
    def __init__(self, resources: Resources) -> None:
        self._resources = resources

    async def enqueue_stage(self, video_id: uuid.UUID, run: int, stage: PipelineStage) -> bool:
        from jobs.video import enqueue_stage

        return await enqueue_stage(self._resources, video_id, run, stage)

    async def enqueue_publication(self, publication_id: uuid.UUID, at: datetime | None = None) -> bool:
        from jobs.publishing import enqueue_publication

        return await enqueue_publication(self._resources, publication_id, at)
