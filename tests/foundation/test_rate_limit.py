"""Operations per caller and minute are capped with THROTTLED; callers are counted apart."""

from tests.factories import make_user, principal_for
from tests.gql import codes, execute


async def test_a_caller_past_the_limit_is_throttled_others_are_not(resources, session):
    resources.settings.operations_per_minute = 3
    resources.settings.anonymous_operations_per_minute = 2
    alice, bob = await make_user(session), await make_user(session)
    for _ in range(3):
        assert (await execute(resources, "{ me { id } }", principal=principal_for(alice))).errors is None
    r = await execute(resources, "{ me { id } }", principal=principal_for(alice))
    assert codes(r) == ["THROTTLED"] and 0 < r.errors[0].extensions["retryAfter"] <= 60
    assert (await execute(resources, "{ me { id } }", principal=principal_for(bob))).errors is None
    for _ in range(2):
        assert (await execute(resources, "{ __typename }")).errors is None
    assert codes(await execute(resources, "{ __typename }")) == ["THROTTLED"]


async def test_the_limit_fails_open_while_redis_is_away(resources):
    import redis.asyncio as aioredis

    from tests.live import free_port

    healthy = resources.redis
    resources.redis = aioredis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    try:
        r = await execute(resources, "{ __typename }")
        assert r.errors is None and r.data == {"__typename": "Query"}
    finally:
        await resources.redis.aclose()
        resources.redis = healthy
