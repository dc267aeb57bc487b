"""The ARQ worker: the pipeline's stage jobs and periodic maintenance."""

from __future__ import annotations

from typing import Any

from arq.worker import Worker

from runtime.resources import Resources, redis_settings


def job_functions() -> list[Any]:
    from jobs import registry

    return registry.functions()


def cron_jobs(reconcile_every: int = 60) -> list[Any]:
    from jobs import registry

    return registry.crons(reconcile_every)


def make_worker(
    resources: Resources, *, handle_signals: bool = True, burst: bool = False, **kw: Any
) -> Worker:
    settings = resources.settings

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["resources"] = resources

    return Worker(
        functions=job_functions(),
        cron_jobs=cron_jobs(settings.reconcile_interval_seconds),
        redis_settings=redis_settings(resources.redis_url),
        queue_name=resources.queue_name,
        max_jobs=settings.worker_concurrency,
        job_timeout=settings.stage_timeout_seconds,
        max_tries=settings.job_max_tries,
        allow_abort_jobs=True,
        handle_signals=handle_signals,
        on_startup=on_startup,
        burst=burst,
        poll_delay=kw.pop("poll_delay", 0.2),
        keep_result=60,
        **kw,
    )
