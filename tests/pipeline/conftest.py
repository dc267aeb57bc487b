"""Pipeline tests run on a database of their own with real, committing resources."""

from __future__ import annotations

import pytest

from runtime.bootstrap import make_storage
from runtime.events import start_events
from runtime.resources import build_resources
from runtime.settings import Settings


@pytest.fixture
async def live_resources(tmp_path, e2e_database, services, redis_prefix, redis_client):
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=e2e_database,
        redis_url=services[1],
        redis_prefix=redis_prefix,
        secret_key="p" * 40,
        render_preset="ultrafast",
        _env_file=None,
    )
    res = await build_resources(settings)
    res.storage = make_storage(settings)
    await start_events(res)
    yield res
    await res.close()


async def drain(resources) -> None:
    """Run a worker until the queue is empty (each stage enqueues the next before it ends)."""
    from jobs.worker import make_worker

    worker = make_worker(resources, handle_signals=False, burst=True, poll_delay=0)
    try:
        await worker.async_run()
    finally:
        await worker.close()
