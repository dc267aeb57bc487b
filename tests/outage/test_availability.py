"""domain.availability tells "a server cannot be reached" from every other failure, with the
errors the real drivers raise."""

from __future__ import annotations

import asyncpg
import pytest
import redis.asyncio as aioredis
import redis.exceptions
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from domain.availability import ServiceUnavailable, as_unavailable, unavailable_dependency
from persistence.db import make_engine
from tests.live import free_port


async def _raised(coro) -> BaseException:
    try:
        await coro
    except Exception as exc:
        return exc
    raise AssertionError("expected a failure")


async def test_redis_refused_is_redis_down():
    client = aioredis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    try:
        exc = await _raised(client.get("k"))
    finally:
        await client.aclose()
    assert unavailable_dependency(exc) == "redis"
    down = as_unavailable(exc)
    assert isinstance(down, ServiceUnavailable) and down.code == "SERVICE_UNAVAILABLE"
    assert down.extensions["retryAfter"] == down.retry_after > 0


async def test_redis_missing_unix_socket_is_redis_down(tmp_path):
    client = aioredis.Redis.from_url(f"unix://{tmp_path}/gone.sock")
    try:
        exc = await _raised(client.ping())
    finally:
        await client.aclose()
    assert unavailable_dependency(exc) == "redis"


@pytest.mark.parametrize("where", ["tcp", "unix"])
async def test_postgres_refused_is_database_down(tmp_path, where):
    url = (
        f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres"
        if where == "tcp"
        else f"postgresql+asyncpg://postgres@/postgres?host={tmp_path}"
    )
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            exc = await _raised(conn.execute(text("SELECT 1")))
    except Exception as outer:  # connecting is where it fails
        exc = outer
    finally:
        await engine.dispose()
    assert unavailable_dependency(exc) == "database"


async def test_a_connection_killed_by_the_server_is_database_down(engine):
    async with engine.connect() as victim:
        pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar()
        async with engine.connect() as killer:
            await killer.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        exc = await _raised(victim.execute(text("SELECT 1")))
    assert unavailable_dependency(exc) == "database"


async def test_other_failures_are_not_outages(session, redis_client):
    # An SQL error, a Redis command error, a file that is not there, a refused HTTP connection.
    sql = await _raised(session.execute(text("SELECT * FROM no_such_table")))
    await session.rollback()
    command = await _raised(redis_client.execute_command("NO-SUCH-COMMAND"))
    assert isinstance(command, redis.exceptions.ResponseError)
    try:
        open("/nonexistent/file")  # noqa: SIM115
    except FileNotFoundError as exc:
        missing = exc
    import httpx

    async with httpx.AsyncClient() as client:
        http = await _raised(client.get(f"http://127.0.0.1:{free_port()}/"))
    refused = ConnectionRefusedError(111, "Connection refused")
    for error in (sql, command, missing, http, refused, IntegrityError("x", {}, Exception()), ValueError()):
        assert unavailable_dependency(error) is None, error
    assert unavailable_dependency(asyncpg.CannotConnectNowError("starting up")) == "database"
