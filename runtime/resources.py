"""Process-wide resources, built once (by the app lifespan or a worker) and closed once."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import redis.asyncio as aioredis
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from persistence.db import make_engine, make_sessionmaker
from runtime.embedded import EmbeddedServices, ensure_writable
from runtime.settings import ConfigError, Settings

if TYPE_CHECKING:
    from domain.ai.chains import AIChains
    from domain.queue import JobQueue
    from domain.session_watch import SessionWatch
    from providers.social.base import PlatformAdapter
    from providers.storage.base import Storage
    from runtime.events import EventBus

log = logging.getLogger(__name__)


def redis_settings(url: str) -> RedisSettings:
    if url.startswith("unix://"):
        return RedisSettings(unix_socket_path=url[len("unix://") :], conn_timeout=5, conn_retries=3)
    return RedisSettings.from_dsn(url)


class _NotSet:
    """Stands in for a service until its owner sets it: any use names the missing one."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise RuntimeError(f"Resources.{self._name} is not set (runtime.bootstrap sets it)")


def _storage_not_set() -> Storage:
    return cast("Storage", _NotSet("storage"))


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    arq: ArqRedis
    database_url: str
    redis_url: str
    embedded: EmbeddedServices | None = None
    session_watch: SessionWatch | None = None
    """Live websocket sessions, re-checked together (domain.session_watch.watch_of)."""
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None
    """Sessions for GraphQL queries: autocommit, so reading costs no BEGIN/COMMIT round trips
    (the plain sessionmaker when not set, as in tests that run inside one outer transaction)."""
    storage: Storage = field(default_factory=_storage_not_set)
    """Object storage (runtime.bootstrap.make_storage; tests set a fake or a local one)."""
    events: EventBus | None = None
    """The event bus (runtime.events.start_events); None where nothing listens."""
    ai_chains: AIChains | None = None
    """AI provider chains, built on first use (domain.ai.chains.chains_for); tests set fakes."""
    social_adapters: dict[str, PlatformAdapter] | None = None
    """Publishing platform adapters, built on first use (domain.publishing.adapters); tests set fakes."""
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Called in order by close(): what the owners of the services above registered."""
    queue: JobQueue = field(init=False)
    """The job queue the domain enqueues into after commit (jobs.queue.ArqQueue over `arq`)."""

    def __post_init__(self) -> None:
        from jobs.queue import ArqQueue

        self.queue = ArqQueue(self)

    def key(self, *parts: str) -> str:
        """A Redis key or channel in this deployment's namespace."""
        return ":".join((self.settings.redis_prefix, *parts))

    @property
    def queue_name(self) -> str:
        return self.key("queue")

    async def close(self) -> None:
        if self.session_watch is not None:
            await self.session_watch.stop()
        for closer in list(self.closers):
            with contextlib.suppress(Exception):
                await closer()
        with contextlib.suppress(Exception):
            await self.arq.aclose()
        with contextlib.suppress(Exception):
            await self.redis.aclose()
        await self.engine.dispose()
        if self.embedded is not None:
            self.embedded.stop()


def start_embedded(settings: Settings) -> EmbeddedServices | None:
    """Start what is not configured externally; None when everything is external."""
    need_pg, need_redis = settings.database_url is None, settings.redis_url is None
    if not (need_pg or need_redis):
        return None
    ensure_writable(settings.data_dir, "AUTOVIDEO_DATA_DIR")
    return EmbeddedServices(
        settings.data_dir.resolve(), redis_restart_delay=settings.embedded_redis_restart_seconds
    ).start(postgres=need_pg, redis=need_redis)


async def build_resources(settings: Settings, embedded: EmbeddedServices | None = None) -> Resources:
    """Connect to PostgreSQL and Redis (embedded or external), failing fast with the setting's name."""
    database_url = settings.database_url or (embedded.database_url if embedded else None)
    redis_url = settings.redis_url or (embedded.redis_url if embedded else None)
    if not database_url or not redis_url:
        raise ConfigError("AUTOVIDEO_DATABASE_URL / AUTOVIDEO_REDIS_URL: no database or Redis to use")
    if settings.storage_backend == "local":
        ensure_writable(settings.media_dir, "AUTOVIDEO_STORAGE_DIR")
    ensure_writable(settings.work_dir, "AUTOVIDEO_DATA_DIR")

    engine = make_engine(database_url, pool_size=settings.database_pool_size)
    try:
        from persistence.db import ping

        await ping(engine)
    except Exception as exc:
        await engine.dispose()
        raise ConfigError(f"AUTOVIDEO_DATABASE_URL: cannot connect to PostgreSQL ({_reason(exc)})") from None

    try:
        client = aioredis.Redis.from_url(redis_url, socket_connect_timeout=5, health_check_interval=30)
        await client.ping()
        arq = await create_pool(
            redis_settings(redis_url), default_queue_name=settings.redis_prefix + ":queue"
        )
    except Exception as exc:
        await engine.dispose()
        raise ConfigError(f"AUTOVIDEO_REDIS_URL: cannot connect to Redis ({_reason(exc)})") from None

    return Resources(
        settings=settings,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        read_sessionmaker=make_sessionmaker(engine, autocommit=True),
        redis=client,
        arq=arq,
        database_url=database_url,
        redis_url=redis_url,
        embedded=embedded,
    )


def _reason(exc: BaseException) -> str:
    """A short cause without credentials: the exception type and its first line, URLs stripped."""
    import re

    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = re.sub(r"\w+://\S+", "<url>", text)
    return text[:200]
