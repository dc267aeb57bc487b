"""Start and stop everything a process needs: services, resources, storage, events, worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from media import processes
from providers.storage.base import Storage
from runtime.resources import Resources, build_resources, start_embedded
from runtime.settings import Settings

log = logging.getLogger(__name__)


PRODUCTION_MODULES = (
    "media.render",
    "providers.ai.offline.script_writer",
    "providers.ai.offline.procedural_images",
    "providers.ai.offline.piper_speech",
)
"""What the worker processes (media.processes) run: imported when they start."""


@dataclass
class Runtime:
    resources: Resources
    worker: Any = None
    worker_task: asyncio.Task[Any] | None = None
    warm_up: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        if self.warm_up is not None:
            self.warm_up.cancel()
        if self.worker is not None:
            with contextlib.suppress(Exception):
                await self.worker.close()
        if self.worker_task is not None:
            self.worker_task.cancel()
            with contextlib.suppress(BaseException):
                await self.worker_task
        await self.resources.close()


def make_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        from providers.storage.s3 import S3Storage

        return S3Storage(settings)
    from providers.storage.local import LocalStorage

    return LocalStorage(settings.media_dir, settings.public_base_url, settings.signing_secret)


async def start_runtime(settings: Settings, *, run_worker: bool, migrate: bool | None = None) -> Runtime:
    from runtime import telemetry

    telemetry.setup_telemetry(settings)  # once per process; API and worker both come through here
    embedded = await asyncio.to_thread(start_embedded, settings)
    try:
        resources = await build_resources(settings, embedded)
    except BaseException:
        if embedded:
            embedded.stop()
        raise
    try:
        telemetry.observe_resources(resources)
        if migrate if migrate is not None else settings.database_url is None:
            from runtime import migrate as migrations

            await asyncio.to_thread(migrations.upgrade, resources.database_url)
        storage = resources.storage = make_storage(settings)
        if hasattr(storage, "aclose"):
            resources.closers.append(storage.aclose)
        from runtime.events import start_events

        await start_events(resources)
        runtime = Runtime(resources=resources)
        if run_worker:
            from jobs.supervisor import SupervisedWorker

            # Supervised: a Redis outage pauses the worker instead of ending it (jobs/supervisor.py).
            runtime.worker = SupervisedWorker(resources, handle_signals=False)
            runtime.worker_task = asyncio.create_task(runtime.worker.run())
            runtime.warm_up = asyncio.create_task(processes.warm_up(PRODUCTION_MODULES))
        return runtime
    except BaseException:
        await resources.close()
        raise
