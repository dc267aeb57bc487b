"""Test fixtures: real PostgreSQL and Redis, a database per test worker, a rolled-back
transaction per in-process test, a Redis namespace per test."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from persistence.db import make_engine
from runtime.resources import Resources
from runtime.settings import Settings
from tests.services import database_url, postgres_is_throwaway, service_urls, stop_embedded

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
# One id per test run (shared by its xdist workers), so two runs on one server never collide.
RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:8]
PREFIX = f"avt_{RUN}_{WORKER}"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """A temporary root of this checkout's own. pytest resets its shared root
    (/tmp/pytest-of-<user>) to mode 0700 whenever a run starts, and the embedded PostgreSQL runs
    as another user (pgserver drops root): a second checkout's run starting beside this one would
    lock this run's embedded servers out of their folders."""
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        import hashlib

        digest = hashlib.sha256(str(config.rootpath).encode()).hexdigest()[:8]
        config.option.basetemp = str(Path(tempfile.gettempdir()) / f"autovideo-tests-{digest}")


def _admin_kwargs(admin_url: str) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    u = make_url(admin_url)
    kwargs: dict[str, Any] = {"user": u.username or "postgres", "database": "postgres"}
    if u.host:
        kwargs.update(host=u.host, port=u.port or 5432)
    else:
        kwargs.update(host=u.query.get("host"))
    if u.password:
        kwargs["password"] = u.password
    return kwargs


async def _recreate_database(admin_url: str, name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(**_admin_kwargs(admin_url))
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await conn.close()


SECURITY_TESTS = Path(__file__).parent / "security"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/security is a `security` test (`make test` runs those and the `e2e`
    ones a second time against the embedded PostgreSQL and Redis 6.2)."""
    for item in items:
        if SECURITY_TESTS in item.path.parents:
            item.add_marker(pytest.mark.security)


@pytest.fixture(scope="session")
def services() -> Any:
    admin, redis_url = service_urls()
    yield admin, redis_url
    stop_embedded()


async def _drop_databases(admin_url: str, prefix: str) -> None:
    """Drops every database named with `prefix`, several at once: each DROP DATABASE waits for a
    checkpoint (0.3 to 2 s each here), and drops that wait together share one."""
    conn = await asyncpg.connect(**_admin_kwargs(admin_url))
    try:
        names = [
            r["datname"]
            for r in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%")
        ]
    finally:
        await conn.close()
    gate = asyncio.Semaphore(8)

    async def drop(name: str) -> None:
        async with gate:
            c = await asyncpg.connect(**_admin_kwargs(admin_url))
            try:
                await c.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
                )
                await c.execute(f'DROP DATABASE IF EXISTS "{name}"')
            finally:
                await c.close()

    await asyncio.gather(*(drop(name) for name in names))


@pytest.fixture(scope="session")
def migrated_url(services: Any) -> Any:
    """This worker's database, migrated to head once per session; every database this worker
    made is dropped at the end."""
    from runtime import migrate

    admin, _ = services
    # A migrated template nobody stays connected to, so end-to-end databases can be copied from it
    # while this worker's own database is in use.
    template = template_name()
    asyncio.run(_recreate_database(admin, template))
    migrate.upgrade(database_url(admin, template))
    name = f"{PREFIX}_test"
    asyncio.run(_recreate_database(admin, name, template=template))
    yield database_url(admin, name)
    if not postgres_is_throwaway():
        asyncio.run(_drop_databases(admin, PREFIX))


def template_name() -> str:
    return f"{PREFIX}_template"


@pytest.fixture(scope="session")
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(migrated_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """An outer transaction, rolled back at the end: nothing a test writes survives it."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            if trans.is_active:
                await trans.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Sessions' commits become savepoint releases inside the outer transaction.
    from persistence.db import SerialSession

    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
        class_=SerialSession,
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


@pytest.fixture
def redis_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis_client(services: Any, redis_prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(services[1])
    yield client
    keys = [k async for k in client.scan_iter(match=f"{redis_prefix}:*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def settings(tmp_path: Path, migrated_url: str, services: Any, redis_prefix: str) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=migrated_url,
        redis_url=services[1],
        redis_prefix=redis_prefix,
        secret_key="test-secret-" + "x" * 40,
        _env_file=None,
    )


@pytest.fixture
async def resources(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis_client: aioredis.Redis,
) -> AsyncIterator[Resources]:
    """Process resources for in-process tests, sharing the test's rolled-back transaction."""
    from arq.connections import create_pool

    from runtime.bootstrap import make_storage
    from runtime.events import start_events
    from runtime.resources import redis_settings

    assert settings.redis_url
    arq = await create_pool(
        redis_settings(settings.redis_url), default_queue_name=settings.redis_prefix + ":queue"
    )
    res = Resources(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        redis=redis_client,
        arq=arq,
        database_url=str(settings.database_url),
        redis_url=settings.redis_url,
    )
    res.storage = make_storage(settings)
    bus = await start_events(res)
    yield res
    await bus.stop()
    await arq.aclose()


@pytest.fixture
async def e2e_database(services: Any, migrated_url: str) -> str:
    """A database of its own for an end-to-end test, copied from the migrated template."""
    admin, _ = services
    template = template_name()
    name = f"{PREFIX}_e2e_{uuid.uuid4().hex[:8]}"
    await _recreate_database(admin, name, template=template)
    return database_url(admin, name)


@pytest.fixture
def live_api(tmp_path: Path, e2e_database: str, services: Any, redis_prefix: str) -> Any:
    """`autovideo serve --no-worker` on a database of its own, ready to take requests."""
    from tests.live import LiveServer, service_env

    srv = LiveServer(
        service_env(e2e_database, services[1], tmp_path / "data", redis_prefix),
        tmp_path / "server.log",
        worker=False,
    )
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()
