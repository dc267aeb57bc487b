"""A GraphQL request through the app in-process: one trace from the HTTP span down to SQL, and
the HTTP / GraphQL metric families with bounded labels."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.trace import SpanKind

from tests.telemetry.conftest import metric_samples

REGISTER = """mutation Register($input: RegisterInput!) { register(input: $input) { tokenType } }"""
PASSWORD = "a long passphrase 7391"


@pytest.fixture
async def client(spans, settings, e2e_database) -> AsyncIterator[httpx.AsyncClient]:
    """The real app and lifespan (start_runtime: engine, Redis, instrumentation) on a database
    of its own, since requests commit."""
    from app import create_app

    settings = settings.model_copy(update={"database_url": e2e_database})
    app = create_app(settings, run_worker=False, migrate=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c,
    ):
        yield c


async def test_one_trace_from_http_to_sql(client, spans):
    name = f"t{uuid.uuid4().hex[:10]}"
    # Inline literals, as a hand-written document would have them: they must not reach a span.
    doc = (
        f'mutation {{ register(input: {{username: "{name}", email: "{name}@example.com", '
        f'password: "{PASSWORD}"}}) {{ tokenType }} }}'
    )
    r = await client.post("/graphql", json={"query": doc})
    assert r.status_code == 200 and r.json()["data"]["register"]["tokenType"], r.text
    await client.get("/healthz")

    finished = spans.get_finished_spans()
    http = [s for s in finished if s.kind is SpanKind.SERVER and s.name == "POST /graphql"]
    assert len(http) == 1, [s.name for s in finished]
    trace_id = http[0].context.trace_id
    in_trace = [s for s in finished if s.context.trace_id == trace_id]
    operation = [s for s in in_trace if s.name.startswith("GraphQL Query")]
    sql = [s for s in in_trace if s.attributes.get("db.system") == "postgresql"]
    redis = [s for s in in_trace if s.attributes.get("db.system") == "redis"]
    assert operation and operation[0].attributes["graphql.operation.type"] == "mutation"
    assert operation[0].parent.span_id == http[0].context.span_id
    assert sql and any("INSERT INTO users" in str(s.attributes.get("db.statement")) for s in sql)
    assert redis, "rate limits and caches go through the instrumented Redis client"
    assert http[0].attributes["http.route"] == "/graphql"
    assert not [s for s in finished if "healthz" in s.name], "probes are not traced"
    for s in finished:
        assert PASSWORD not in str(dict(s.attributes or {})), s.name


async def test_metrics_use_route_templates(client):
    r = await client.post("/graphql", json={"query": "{ __typename }"})
    assert r.status_code == 200
    await client.post("/graphql", json={"query": "{ nope }"})
    forged = await client.get("/media/videos/abc/video.mp4", params={"exp": "1", "sig": "00"})
    assert forged.status_code == 403
    text = (await client.get("/metrics")).text
    samples = metric_samples(text)

    def value(name: str, **labels: str) -> float:
        return sum(v for n, ls, v in samples if n == name and labels.items() <= ls.items())

    assert value("autovideo_http_requests_total", method="POST", route="/graphql", status="200") >= 2
    assert value("autovideo_http_requests_total", method="GET", route="/media/{key:path}", status="403") >= 1
    assert (
        value("autovideo_http_request_duration_seconds_count", method="GET", route="/media/{key:path}") >= 1
    )
    assert value("autovideo_graphql_operations_total", type="query", outcome="ok") >= 1
    assert value("autovideo_graphql_operations_total", type="query", outcome="GRAPHQL_VALIDATION_FAILED") >= 1
    assert any(n == "autovideo_queue_depth" for n, _, _ in samples)
    routes = {ls["route"] for n, ls, _ in samples if n == "autovideo_http_requests_total"}
    assert not [r for r in routes if "abc" in r], routes
