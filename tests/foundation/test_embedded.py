"""The embedded PostgreSQL and Redis start from nothing, stop cleanly and keep their data."""

import asyncio

import asyncpg
import psutil
import pytest
import redis

from runtime.embedded import EmbeddedServices


def gone(pid: int, within: float = 15.0) -> bool:
    """The server process has exited (a loaded machine may need a moment to finish shutdown)."""
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_embedded_services_restart_with_data(tmp_path):
    data = tmp_path / "data"
    with EmbeddedServices(data).start(postgres=True, redis=True) as svc:
        assert svc.database_url is not None and svc.redis_url is not None
        url = svc.database_url.replace("postgresql+asyncpg", "postgresql")

        async def write():
            conn = await asyncpg.connect(url)
            await conn.execute("CREATE TABLE kept (v text)")
            await conn.execute("INSERT INTO kept VALUES ('hello')")
            await conn.close()

        asyncio.run(write())
        r = redis.Redis(unix_socket_path=svc.redis_url.removeprefix("unix://"))
        r.set("kept", "world")
        r.close()
        pg_pid = svc._pg.get_pid()
        redis_pid = svc._redis.pid
    assert gone(pg_pid) and gone(redis_pid)

    with EmbeddedServices(data).start(postgres=True, redis=True) as svc:
        assert svc.database_url is not None and svc.redis_url is not None
        url = svc.database_url.replace("postgresql+asyncpg", "postgresql")

        async def read():
            conn = await asyncpg.connect(url)
            try:
                return await conn.fetchval("SELECT v FROM kept")
            finally:
                await conn.close()

        assert asyncio.run(read()) == "hello"
        r = redis.Redis(unix_socket_path=svc.redis_url.removeprefix("unix://"))
        assert r.get("kept") == b"world"
        r.close()
