"""While Redis or PostgreSQL cannot be reached, the API answers 503 with Retry-After (and the
GraphQL code SERVICE_UNAVAILABLE), never a plain 500; /readyz says so, /healthz stays up."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from persistence.db import make_engine, make_sessionmaker
from tests.live import free_port

REGISTER = "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }"


@pytest.fixture
async def app_client(settings, e2e_database) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    from app import create_app

    settings = settings.model_copy(update={"database_url": e2e_database})
    app = create_app(settings, run_worker=False, migrate=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c, app.state.runtime_state["resources"]


async def _token(client: httpx.AsyncClient) -> str:
    name = f"o{uuid.uuid4().hex[:10]}"
    variables = {
        "i": {"username": name, "email": f"{name}@example.com", "password": "a sturdy passphrase 42"}
    }
    r = await client.post("/graphql", json={"query": REGISTER, "variables": variables})
    return str(r.json()["data"]["register"]["accessToken"])


@contextlib.asynccontextmanager
async def redis_down(resources: Any) -> AsyncIterator[None]:
    healthy = resources.redis
    resources.redis = aioredis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    try:
        yield
    finally:
        await resources.redis.aclose()
        resources.redis = healthy


@contextlib.asynccontextmanager
async def database_down(resources: Any) -> AsyncIterator[None]:
    healthy = resources.engine, resources.sessionmaker
    dead = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres")
    resources.engine, resources.sessionmaker = dead, make_sessionmaker(dead)
    try:
        yield
    finally:
        resources.engine, resources.sessionmaker = healthy
        await dead.dispose()


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    retry = int(r.headers["retry-after"])
    assert retry > 0
    body = r.json()
    codes = [e["extensions"]["code"] for e in body["errors"]]
    assert codes == ["SERVICE_UNAVAILABLE"], body
    assert body["errors"][0]["extensions"]["retryAfter"] == retry
    assert "redis" not in r.text.lower() and "asyncpg" not in r.text.lower()  # no internals


async def test_authenticated_request_while_redis_is_down_is_503(app_client):
    client, resources = app_client
    token = await _token(client)
    headers = {"Authorization": f"Bearer {token}"}
    async with redis_down(resources):
        assert_unavailable(await client.post("/graphql", json={"query": "{ me { id } }"}, headers=headers))
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and int(ready.headers["retry-after"]) > 0
        assert ready.json()["checks"]["redis"]["ok"] is False
        assert (await client.get("/healthz")).status_code == 200
    r = await client.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
    assert r.status_code == 200 and r.json()["data"]["me"]["id"]
    assert (await client.get("/readyz")).status_code == 200


async def test_operation_needing_the_database_while_it_is_down_is_503(app_client):
    client, resources = app_client
    token = await _token(client)
    headers = {"Authorization": f"Bearer {token}"}
    async with database_down(resources):
        # Anonymous: the failure happens inside the operation (the resolver's query).
        name = f"o{uuid.uuid4().hex[:10]}"
        variables = {
            "i": {"username": name, "email": f"{name}@example.com", "password": "another passphrase 9"}
        }
        assert_unavailable(await client.post("/graphql", json={"query": REGISTER, "variables": variables}))
        # Signed in, auth state not cached: the failure happens before the operation (authentication).
        async for key in resources.redis.scan_iter(match=resources.key("auth", "user", "*")):
            await resources.redis.delete(key)
        me = await client.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
        assert_unavailable(me)
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False
    r = await client.post("/graphql", json={"query": "{ me { id } }"}, headers=headers)
    assert r.status_code == 200, r.text


async def test_other_errors_keep_their_status(app_client):
    client, _ = app_client
    r = await client.post("/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": "Bearer x"})
    assert r.status_code == 401
    r = await client.post("/graphql", json={"query": "{ nope }"})
    assert r.status_code == 200 and "retry-after" not in r.headers
