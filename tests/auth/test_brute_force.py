"""The login brute-force guard on both Redis servers the product runs on: the machine's and the
embedded default (Redis 6.2, which has no `EXPIRE … NX`)."""

from __future__ import annotations

import uuid
from typing import cast

import jwt
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from domain import ratelimit
from domain.identity import Principal
from graphql_runtime.context import Context
from persistence.audit import AuditEvent
from tests.auth.helpers import LOGIN, PASSWORD, codes, register


def _uid(reg) -> uuid.UUID:
    return uuid.UUID(jwt.decode(reg["accessToken"], options={"verify_signature": False})["sub"])


async def _login_from(resources, who: str, password: str, address: str):
    from resolvers.root import schema

    ctx = Context(resources=resources, principal=Principal.anonymous(address), client_address=address)
    return await schema.execute(
        LOGIN, variable_values={"login": who, "password": password}, context_value=ctx
    )


def _keys(resources, account: str, address: str) -> dict[str, str]:
    acct = ratelimit._id(account)
    return {
        "ip": resources.key("rl", "login", "ip", address),
        "acct-ip": resources.key("rl", "login", "acct-ip", acct, address),
        "acct": resources.key("rl", "login", "acct", acct),
        "lock": resources.key("rl", "login", "lock", acct),
    }


async def _audit(session, user_id: uuid.UUID, action: str) -> list[AuditEvent]:
    rows = await session.scalars(
        select(AuditEvent).where(AuditEvent.target_id == str(user_id), AuditEvent.action == action)
    )
    return list(rows.all())


async def test_a_failed_login_is_unauthenticated_counted_and_audited(any_redis, session):
    resources = any_redis
    reg = await register(resources, address="10.9.0.1")
    uid = _uid(reg)
    r = await _login_from(resources, reg["user"]["username"], "wrong-password-x", "10.9.0.2")
    assert codes(r) == ["UNAUTHENTICATED"]
    keys = _keys(resources, str(uid), "10.9.0.2")
    windows = {
        "ip": ratelimit.IP_WINDOW,
        "acct-ip": ratelimit.ACCOUNT_IP_WINDOW,
        "acct": ratelimit.ACCOUNT_WINDOW,
    }
    for name, window in windows.items():
        assert int(await resources.redis.get(keys[name])) == 1, name
        assert 0 < await resources.redis.ttl(keys[name]) <= window, name
    failed = await _audit(session, uid, "auth.login_failed")
    assert len(failed) == 1 and str(failed[0].client_address) == "10.9.0.2"


async def test_the_window_is_set_once_and_never_extended(any_redis):
    resources = any_redis
    reg = await register(resources, address="10.9.1.1")
    keys = _keys(resources, str(_uid(reg)), "10.9.1.2")
    name = reg["user"]["username"]
    await _login_from(resources, name, "wrong-password-x", "10.9.1.2")
    await resources.redis.expire(keys["acct-ip"], 100)  # as if 800 s of the window had passed
    await resources.redis.persist(keys["acct"])  # a counter left without a window (old code, a crash)
    await _login_from(resources, name, "wrong-password-x", "10.9.1.2")
    assert int(await resources.redis.get(keys["acct-ip"])) == 2
    assert 0 < await resources.redis.ttl(keys["acct-ip"]) <= 100
    assert 0 < await resources.redis.ttl(keys["acct"]) <= ratelimit.ACCOUNT_WINDOW


async def test_login_throttling_per_account_and_address_and_reset(any_redis):
    resources = any_redis
    reg = await register(resources)
    name = reg["user"]["username"]
    for _ in range(ratelimit.ACCOUNT_IP_LIMIT):
        assert codes(await _login_from(resources, name, "wrong-password-x", "10.0.0.1")) == [
            "UNAUTHENTICATED"
        ]
    blocked = await _login_from(resources, name, PASSWORD, "10.0.0.1")
    assert codes(blocked) == ["THROTTLED"] and blocked.errors[0].extensions["retryAfter"] > 0
    # the owner elsewhere is not locked out by the attacker's address
    ok = await _login_from(resources, name, PASSWORD, "10.0.0.2")
    assert ok.errors is None


async def test_global_account_backoff_is_short_and_spares_known_addresses(any_redis):
    resources = any_redis
    reg = await register(resources)
    name = reg["user"]["username"]
    assert (await _login_from(resources, name, PASSWORD, "10.1.0.99")).errors is None  # known address
    for i in range(ratelimit.ACCOUNT_FREE_FAILURES + 3):
        await _login_from(resources, name, "wrong-password-x", f"10.1.1.{i}")  # distributed guessing
    stranger = await _login_from(resources, name, PASSWORD, "10.1.2.1")
    assert codes(stranger) == ["THROTTLED"]
    assert stranger.errors[0].extensions["retryAfter"] <= ratelimit.MAX_BACKOFF_SECONDS
    lock = _keys(resources, str(_uid(reg)), "-")["lock"]
    assert 0 < await resources.redis.ttl(lock) <= ratelimit.MAX_BACKOFF_SECONDS
    owner = await _login_from(resources, name, PASSWORD, "10.1.0.99")
    assert owner.errors is None  # and success resets the account's counters
    assert not await resources.redis.exists(lock)


async def test_the_per_address_limit_holds_across_accounts(any_redis):
    resources = any_redis
    address = "10.2.0.1"
    key = _keys(resources, "-", address)["ip"]
    await resources.redis.set(key, ratelimit.IP_LIMIT - 1, ex=ratelimit.IP_WINDOW)
    assert codes(await _login_from(resources, "nobody-" + uuid.uuid4().hex, "wrong-password-x", address)) == [
        "UNAUTHENTICATED"
    ]
    blocked = await _login_from(resources, "someone-" + uuid.uuid4().hex, "wrong-password-x", address)
    assert codes(blocked) == ["THROTTLED"]


async def test_a_redis_failure_while_counting_keeps_the_answer_and_the_audit(resources, session, monkeypatch):
    reg = await register(resources, address="10.3.0.1")
    uid = _uid(reg)

    async def redis_down(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    class DownPipeline:
        """A pipeline whose commands queue and whose execution finds Redis gone."""

        def __init__(self, *args, **kwargs) -> None:
            pass

        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc) -> bool:
            return False

        def __getattr__(self, name):
            return lambda *args, **kwargs: self

        execute = redis_down

    monkeypatch.setattr(resources.redis, "evalsha", redis_down)
    monkeypatch.setattr(resources.redis, "eval", redis_down)
    monkeypatch.setattr(resources.redis, "pipeline", DownPipeline)
    r = await _login_from(resources, reg["user"]["username"], "wrong-password-x", "10.3.0.2")
    assert codes(r) == ["UNAUTHENTICATED"], r.errors
    assert len(await _audit(session, uid, "auth.login_failed")) == 1


async def test_the_failed_login_audit_is_queued_before_any_redis_call(resources, session, monkeypatch):
    """The audit row is queued before the counting call, so no Redis outcome can lose it."""
    reg = await register(resources, address="10.4.0.1")
    uid = _uid(reg)
    queued: list[object] = []
    seen: list[int] = []
    real_regardless, real_count = Context.regardless, ratelimit.login_failed

    def regardless(self, fn):
        queued.append(fn)
        return real_regardless(self, fn)

    async def count(*args, **kwargs):
        seen.append(len(queued))
        return await real_count(*args, **kwargs)

    monkeypatch.setattr(Context, "regardless", regardless)
    monkeypatch.setattr(ratelimit, "login_failed", count)
    r = await _login_from(resources, reg["user"]["username"], "wrong-password-x", "10.4.0.2")
    assert codes(r) == ["UNAUTHENTICATED"]
    assert seen == [1]  # the audit was queued when the counting began
    assert len(await _audit(session, uid, "auth.login_failed")) == 1


@pytest.mark.e2e
def test_a_served_api_on_the_embedded_redis_counts_failed_logins(tmp_path, e2e_database, redis62_url):
    """`autovideo serve` on Redis 6.2, over HTTP: a failed login is UNAUTHENTICATED and counted,
    and the limit then answers THROTTLED."""
    import httpx
    import redis

    from tests.auth.helpers import REGISTER, unique_name
    from tests.live import LiveServer, service_env

    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    srv = LiveServer(service_env(e2e_database, redis62_url, tmp_path / "data", prefix), tmp_path / "log")
    try:
        srv.wait_ready()

        def post(query: str, variables: dict) -> dict:
            return httpx.post(srv.graphql, json={"query": query, "variables": variables}, timeout=30).json()

        name = unique_name()
        reg = post(
            REGISTER, {"input": {"username": name, "email": f"{name}@example.com", "password": PASSWORD}}
        )
        assert "errors" not in reg, reg
        for _ in range(ratelimit.ACCOUNT_IP_LIMIT):
            r = post(LOGIN, {"login": name, "password": "wrong-password-x"})
            assert [e["extensions"]["code"] for e in r["errors"]] == ["UNAUTHENTICATED"], r
        r = post(LOGIN, {"login": name, "password": PASSWORD})
        assert [e["extensions"]["code"] for e in r["errors"]] == ["THROTTLED"], r
        client = redis.Redis.from_url(redis62_url)
        try:
            # redis-py types a sync client's replies as `Awaitable | Any`; this one is sync: bytes
            counted = [
                int(cast(bytes, client.get(k))) for k in client.scan_iter(match=f"{prefix}:rl:login:acct:*")
            ]
        finally:
            client.close()
        assert counted == [ratelimit.ACCOUNT_IP_LIMIT]
    finally:
        srv.stop()
