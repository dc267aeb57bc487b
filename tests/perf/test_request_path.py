"""The per-request path, counted: Redis round trips, SQL statements, parses, sessions.

Requests go through the real ASGI app (view, admission, extensions) on the test's PostgreSQL
and Redis; what is counted is work, never time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from tests.factories import make_user, make_video
from tests.gql import body

PAGE = (
    "query Page { videos(first: 20) { edges { node { id title status duration createdAt "
    "processingProgress owner { username } } } } }"
)


@pytest.fixture
async def app_client(resources: Any) -> AsyncIterator[httpx.AsyncClient]:
    from app import create_app
    from runtime.bootstrap import Runtime

    resources.settings.operations_per_minute = 10_000
    resources.settings.anonymous_operations_per_minute = 10_000
    app = create_app(resources.settings, run_worker=False, migrate=False, runtime=Runtime(resources))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        client.app = app  # type: ignore[attr-defined]
        yield client


class RedisCalls:
    """Counts round trips to Redis made through a client: a command, or a pipeline (named by
    its commands)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.commands: list[str] = []
        self._execute_command = client.execute_command
        self._pipeline = client.pipeline

    async def _execute(self, *args: Any, **kw: Any) -> Any:
        self.commands.append(str(args[0]))
        return await self._execute_command(*args, **kw)

    def _pipe(self, *args: Any, **kw: Any) -> Any:
        pipe = self._pipeline(*args, **kw)
        execute = pipe.execute

        async def counted(*a: Any, **k: Any) -> Any:
            self.commands.append("+".join(str(c[0][0]) for c in pipe.command_stack))
            return await execute(*a, **k)

        pipe.execute = counted
        return pipe

    def __enter__(self) -> RedisCalls:
        self.client.execute_command = self._execute
        self.client.pipeline = self._pipe
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.execute_command = self._execute_command
        self.client.pipeline = self._pipeline


def statements(engine: Any) -> tuple[list[str], Any]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _signed_in(resources: Any, session: Any) -> tuple[str, Any]:
    from domain import tokens

    user = await make_user(session)
    token, _ = tokens.encode(
        resources.settings,
        sub=user.id,
        type=tokens.ACCESS,
        jti="t-" + user.id.hex,
        lifetime=timedelta(minutes=5),
    )
    return token, user


async def test_an_authenticated_request_costs_one_redis_round_trip(app_client, resources, session):
    token, _ = await _signed_in(resources, session)
    headers = {"Authorization": f"Bearer {token}"}
    first = await app_client.post("/graphql", json={"query": "{ me { username } }"}, headers=headers)
    assert first.status_code == 200 and "errors" not in first.json(), first.text
    with RedisCalls(resources.redis) as calls:  # the account state is cached now
        r = await app_client.post("/graphql", json={"query": "{ me { username } }"}, headers=headers)
    assert r.json()["data"]["me"]["username"]
    assert calls.commands == ["EVALSHA"]  # revocation + session + account state + rate limit


async def test_an_anonymous_request_costs_one_redis_round_trip(app_client, resources):
    with RedisCalls(resources.redis) as calls:
        r = await app_client.post("/graphql", json={"query": "{ __typename }"})
    assert body(r.json()) == {"data": {"__typename": "Query"}}
    assert calls.commands == ["EVALSHA"]  # the operation counted, nothing else


async def test_the_cost_is_charged_in_the_same_round_trip(app_client, resources, session):
    """Checking the token, counting the operation and charging its cost: one script, run once
    the document is validated; a document over the maximum cost costs the same one trip."""
    token, _ = await _signed_in(resources, session)
    headers = {"Authorization": f"Bearer {token}"}
    await app_client.post("/graphql", json={"query": "{ me { username } }"}, headers=headers)
    deep = (
        "{ videos(first: 100) { edges { node { owner { videos(first: 100) { edges { node { id } } } } } } } }"
    )
    for _ in range(2):  # again if another test flushed the scripts meanwhile (SCRIPT LOAD + retry)
        with RedisCalls(resources.redis) as calls:
            page = await app_client.post("/graphql", json={"query": PAGE}, headers=headers)
            refused = await app_client.post("/graphql", json={"query": deep}, headers=headers)
        if "SCRIPT LOAD" not in calls.commands:
            break
    assert calls.commands == ["EVALSHA", "EVALSHA"]
    assert page.json()["extensions"]["cost"]["requested"] == 61 and "x-ratelimit-remaining" in page.headers
    assert refused.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_an_operation_without_sql_opens_no_session(app_client, resources, engine, monkeypatch):
    opened: list[bool] = []
    for name in ("sessionmaker", "read_sessionmaker"):
        maker = getattr(resources, name)

        def opening(maker=maker):
            opened.append(True)
            return maker()

        monkeypatch.setattr(resources, name, opening)
    seen, stop = statements(engine)
    try:
        r = await app_client.post("/graphql", json={"query": "{ __typename }"})
    finally:
        stop()
    assert r.status_code == 200 and opened == [] and seen == []


async def test_a_page_is_one_statement_with_only_what_it_shows(app_client, resources, session, engine):
    token, user = await _signed_in(resources, session)
    for _ in range(3):
        await make_video(session, user, script_content="a long script " * 500)
    headers = {"Authorization": f"Bearer {token}"}
    await app_client.post("/graphql", json={"query": PAGE}, headers=headers)  # account state cached
    seen, stop = statements(engine)
    try:
        r = await app_client.post("/graphql", json={"query": PAGE}, headers=headers)
    finally:
        stop()
    edges = r.json()["data"]["videos"]["edges"]
    assert len(edges) == 3 and edges[0]["node"]["owner"]["username"] == user.username
    assert len(seen) == 1, seen  # the page, its owners joined; no count, no per-row loads
    (page,) = seen
    assert "JOIN users" in page
    for column in ("script_content", "prompt", "processing_stages", "style", "description"):
        assert f"videos.{column}" not in page


async def test_a_repeated_document_is_parsed_and_validated_once(app_client, resources, session):
    documents = app_client.app.state.graphql_schema.documents
    documents.clear()
    parses, validations = documents.parses, documents.validations
    query = "query Again { __typename }"
    for _ in range(5):
        r = await app_client.post("/graphql", json={"query": query})
        assert body(r.json()) == {"data": {"__typename": "Query"}}
    assert (documents.parses - parses, documents.validations - validations) == (1, 1)


async def test_the_cost_plan_is_made_once_per_document(app_client, monkeypatch):
    """The cost's static part is kept with the cached document; variables apply per request."""
    from graphql_runtime import query_cost

    documents = app_client.app.state.graphql_schema.documents
    documents.clear()
    plans: list[object] = []
    real = query_cost.plan

    def planning(*a, **k):
        plans.append(a)
        return real(*a, **k)

    monkeypatch.setattr(query_cost, "plan", planning)
    query = "query Sized($n: Int) { videos(first: $n) { edges { node { id } } } }"
    costs = []
    for n in (1, 2, 3):
        r = await app_client.post("/graphql", json={"query": query, "variables": {"n": n}})
        costs.append(r.json()["extensions"]["cost"]["requested"])
    assert costs == [3, 5, 7] and len(plans) == 1


async def test_a_persisted_query_reuses_the_parsed_document(app_client, resources):
    from domain.persisted_queries import sha256_of

    documents = app_client.app.state.graphql_schema.documents
    query = "query Persisted { __typename }"
    ext = {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(query)}}
    r = await app_client.post("/graphql", json={"query": query, "extensions": ext})
    assert body(r.json()) == {"data": {"__typename": "Query"}}
    parses = documents.parses
    for _ in range(3):  # by hash only, as partners send it
        r = await app_client.get("/graphql", params={"extensions": json.dumps(ext)})
        assert body(r.json()) == {"data": {"__typename": "Query"}}, r.text
    assert documents.parses == parses


async def test_a_persisted_query_by_hash_costs_no_database_trip(app_client, resources, engine):
    from domain.persisted_queries import sha256_of

    query = "query ByHash { __typename }"
    ext = {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(query)}}
    r = await app_client.post("/graphql", json={"query": query, "extensions": ext})
    assert body(r.json()) == {"data": {"__typename": "Query"}}
    seen, stop = statements(engine)
    try:
        for _ in range(3):
            r = await app_client.get("/graphql", params={"extensions": json.dumps(ext)})
            assert body(r.json()) == {"data": {"__typename": "Query"}}, r.text
    finally:
        stop()
    assert seen == []


async def test_the_document_cache_is_bounded_and_keeps_no_invalid_documents(app_client):
    documents = app_client.app.state.graphql_schema.documents
    documents.clear()
    for i in range(3):  # invalid: parsed, refused, not kept
        r = await app_client.post("/graphql", json={"query": f"query Bad{i} {{ noSuchField{i} }}"})
        assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert len(documents) == 0
    big = "query Big { " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"
    assert len(big) < documents.max_chars
    many = documents.total_chars // len(big) + 10
    for i in range(many):  # distinct documents, more characters than the cache holds
        r = await app_client.post("/graphql", json={"query": big.replace("Big", f"Big{i}")})
        assert "errors" not in r.json()
    assert documents._chars <= documents.total_chars and len(documents) < many
    huge = "query Huge { " + "__typename " * (documents.max_chars // 11 + 1) + "}"
    await app_client.post("/graphql", json={"query": huge})
    assert huge not in documents._entries


async def test_requests_arriving_together_share_one_redis_round_trip(app_client, resources):
    with RedisCalls(resources.redis) as calls:
        answers = await asyncio.gather(
            *(app_client.post("/graphql", json={"query": "{ __typename }"}) for _ in range(10))
        )
    assert all(body(r.json()) == {"data": {"__typename": "Query"}} for r in answers)
    assert len(calls.commands) < 10 and sum(c.count("EVALSHA") for c in calls.commands) == 10


async def test_admission_survives_a_redis_that_lost_its_scripts(app_client, resources):
    """After a Redis restart (or SCRIPT FLUSH) the script is loaded again and the batch retried."""
    assert (await app_client.post("/graphql", json={"query": "{ __typename }"})).status_code == 200
    await resources.redis.script_flush()
    with RedisCalls(resources.redis) as calls:
        r = await app_client.post("/graphql", json={"query": "{ __typename }"})
    assert body(r.json()) == {"data": {"__typename": "Query"}}
    assert calls.commands == ["EVALSHA", "SCRIPT LOAD", "EVALSHA"]
