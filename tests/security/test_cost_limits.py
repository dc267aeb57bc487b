"""Query cost and cost-based rate limits through the real app (README "Partner API"):
`extensions.cost` and X-RateLimit-* on every GraphQL response, QUERY_TOO_COMPLEX before any
SQL, a token bucket per API key / user / address charged with the cost (its refill driven by an
injected clock, never by sleeping), websockets charged to the same bucket. Runs on Redis 7 and
on the embedded Redis 6.2."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import event
from sqlalchemy.engine import Engine
from websockets.typing import Subprotocol

from domain import rate_budget
from tests.auth.helpers import PASSWORD, REGISTER, unique_name
from tests.gql import COST_KEYS
from tests.security.helpers import module_server, sign_up

PAGE_OF_3 = "query Three { videos(first: 3) { edges { node { id } } } }"  # 1 + 3 + 3 = 7
PAGE_OF_100 = "query Hundred { videos(first: 100) { edges { node { id } } } }"  # 201
THREE_DEEP = (  # 2,040,401
    "{ videos(first: 100) { edges { node { owner { videos(first: 100) { edges { node { owner {"
    " videos(first: 100) { edges { node { id } } } } } } } } } } } }"
)
HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


@contextlib.contextmanager
def sql_statements() -> Iterator[list[str]]:
    """Statements sent by any engine of this process while inside."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@pytest.fixture
def clock() -> Iterator[list[int]]:
    """The buckets' time (epoch ms), moved by the test: `clock[0] += 30_000`."""
    now = [1_800_000_000_000]
    rate_budget.clock = lambda: now[0]
    try:
        yield now
    finally:
        rate_budget.clock = None


async def _post(client: httpx.AsyncClient, query: str, **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", {})
    return await client.post("/graphql", json={"query": query, **kw}, headers=headers)


def _remaining(r: httpx.Response) -> int:
    return int(r.headers["x-ratelimit-remaining"])


def _code(r: httpx.Response) -> str | None:
    errors = r.json().get("errors")
    return errors[0]["extensions"]["code"] if errors else None


async def _register(client: httpx.AsyncClient) -> str:
    name = unique_name("cost")
    variables = {"input": {"username": name, "email": f"{name}@example.com", "password": PASSWORD}}
    r = await _post(client, REGISTER, variables=variables)
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    return str(r.json()["data"]["register"]["accessToken"])


async def _api_key(client: httpx.AsyncClient, token: str, name: str) -> str:
    r = await _post(
        client,
        "mutation($n: String!) { createApiKey(name: $n) { key } }",
        variables={"n": name},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert "errors" not in r.json(), r.text
    return str(r.json()["data"]["createApiKey"]["key"])


async def test_every_response_carries_cost_and_rate_limit_headers(app_client, clock):
    async with app_client(cost_per_minute=1_000) as client:
        from domain.persisted_queries import sha256_of

        user = {"Authorization": f"Bearer {await _register(client)}"}
        unknown = {"persistedQuery": {"version": 1, "sha256Hash": sha256_of("query Nope { __typename }")}}
        answers = {
            "ok": await _post(client, PAGE_OF_3, headers=user),
            "invalid": await _post(client, "{ noSuchField }", headers=user),
            "syntax": await _post(client, "{ videos(", headers=user),
            "too complex": await _post(client, THREE_DEEP, headers=user),
            "page over 100": await _post(client, "{ videos(first: 101) { totalCount } }", headers=user),
            "unknown hash": await client.post("/graphql", json={"extensions": unknown}, headers=user),
            "get": await client.get("/graphql", params={"query": PAGE_OF_3}, headers=user),
        }
        for name, r in answers.items():
            assert r.status_code == 200, (name, r.text)
            assert all(h in r.headers for h in HEADERS), (name, r.headers)
            assert r.headers["x-ratelimit-limit"] == "1000", name
            cost = r.json()["extensions"]["cost"]
            assert set(cost) == COST_KEYS and cost["limit"] == 1000, (name, cost)
            assert cost["remaining"] == _remaining(r) and cost["resetAt"].endswith("Z"), (name, cost)
        ok = answers["ok"].json()
        assert (
            ok["extensions"]["cost"]["requested"] == 7 and ok["extensions"]["cost"]["actual"] == 1
        )  # no videos
        assert [_code(r) for r in answers.values()] == [
            None,
            "GRAPHQL_VALIDATION_FAILED",
            "GRAPHQL_PARSE_FAILED",
            "QUERY_TOO_COMPLEX",
            "BAD_USER_INPUT",
            "PERSISTED_QUERY_NOT_FOUND",
            None,
        ]
        # charged: 7 for each page, 1 for each refusal (clock stands still: no refill)
        assert [_remaining(r) for r in answers.values()] == [993, 992, 991, 990, 989, 988, 981]


async def test_too_complex_is_refused_before_any_sql(app_client):
    async with app_client() as client:
        token = await _register(client)
        headers = {"Authorization": f"Bearer {token}"}
        assert "errors" not in (await _post(client, "{ me { id } }", headers=headers)).json()  # state cached
        with sql_statements() as seen:
            r = await _post(client, THREE_DEEP, headers=headers)
        error = r.json()["errors"][0]
        assert error["extensions"] == {
            "code": "QUERY_TOO_COMPLEX",
            "cost": 2_040_401,
            "maxCost": 10_000,
            "requestId": r.headers["x-request-id"],
        }
        assert r.json()["data"] is None and r.json()["extensions"]["cost"]["requested"] == 2_040_401
        assert seen == []
        with sql_statements() as seen:
            r = await _post(client, "{ videos(first: 500) { totalCount } }", headers=headers)
        assert _code(r) == "BAD_USER_INPUT" and r.json()["errors"][0]["extensions"]["field"] == "first"
        assert seen == []


async def test_the_bucket_is_charged_with_the_cost_and_refills(app_client, clock):
    async with app_client(cost_per_minute=600) as client:
        user = {"Authorization": f"Bearer {await _register(client)}"}
        # 600 points a minute: 10 a second
        r = await _post(client, PAGE_OF_100, headers=user)
        assert "errors" not in r.json() and _remaining(r) == 399
        assert int(r.headers["x-ratelimit-reset"]) == clock[0] // 1000 + 21  # 201 points at 10/s
        r = await _post(client, PAGE_OF_100, headers=user)
        assert _remaining(r) == 198
        refused = await _post(client, PAGE_OF_100, headers=user)  # 201 > 198: refused, nothing taken
        assert _code(refused) == "THROTTLED" and refused.json()["data"] is None
        assert refused.headers["retry-after"] == "1" and _remaining(refused) == 198
        assert refused.json()["errors"][0]["extensions"]["retryAfter"] == 1
        cheap = await _post(client, PAGE_OF_3, headers=user)  # by cost, not count: a cheap one runs
        assert "errors" not in cheap.json() and _remaining(cheap) == 191
        clock[0] += 1_000  # 10 points back
        r = await _post(client, PAGE_OF_100, headers=user)
        assert "errors" not in r.json() and _remaining(r) == 0
        clock[0] += 120_000  # never more than the bucket holds
        r = await _post(client, "{ __typename }", headers=user)
        assert _remaining(r) == 599 and r.json()["extensions"]["cost"]["requested"] == 1


async def test_buckets_are_per_api_key_per_user_and_per_address(app_client, clock):
    async with app_client(cost_per_minute=300, anonymous_cost_per_minute=250) as client:
        token = await _register(client)
        first_key, second_key = await _api_key(client, token, "one"), await _api_key(client, token, "two")
        user = {"Authorization": f"Bearer {token}"}
        spent = await _post(client, PAGE_OF_100, headers={"X-Api-Key": first_key})
        assert "errors" not in spent.json() and _remaining(spent) == 99
        assert _code(await _post(client, PAGE_OF_100, headers={"X-Api-Key": first_key})) == "THROTTLED"
        # the key's owner, its other key and anonymous callers each have their own bucket
        other = await _post(client, PAGE_OF_100, headers={"X-Api-Key": second_key})
        assert "errors" not in other.json() and _remaining(other) == 99
        owner = await _post(client, PAGE_OF_100, headers=user)
        assert "errors" not in owner.json() and owner.headers["x-ratelimit-limit"] == "300"
        assert _remaining(owner) == 300 - 1 - 1 - 201  # two createApiKey (1 each), this page
        anonymous = await _post(client, PAGE_OF_100)
        assert anonymous.headers["x-ratelimit-limit"] == "250"
        assert _remaining(anonymous) == 250 - 2 - 201  # register (2), signed out; this page


async def test_buckets_refill_on_redis_time(app_client):
    """Without the test clock: Redis's TIME, one clock for every API process."""
    async with app_client(anonymous_cost_per_minute=6_000) as client:
        first = await _post(client, PAGE_OF_100)
        second = await _post(client, PAGE_OF_100)
        assert _remaining(first) == 6_000 - 201  # a new bucket starts full
        # charged again; whatever time passed gave back at most what was taken (never past full)
        assert 6_000 - 2 * 201 <= _remaining(second) <= 6_000 - 201
        assert int(second.headers["x-ratelimit-reset"]) >= int(first.headers["x-ratelimit-reset"])


@pytest.fixture(scope="module")
def server(tmp_path_factory, services, migrated_url):
    with module_server(
        tmp_path_factory.mktemp("cost"), services, cost_per_minute="600", anonymous_cost_per_minute="500"
    ) as srv:
        yield srv


async def _ws_result(url: str, query: str, token: str | None = None) -> dict[str, Any]:
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert message["type"] == "next", message
        return message["payload"]


@pytest.mark.e2e
@pytest.mark.xdist_group("security-cost")
async def test_websocket_operations_are_charged_to_the_same_bucket(server):
    token = await asyncio.to_thread(sign_up, server.graphql)
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30) as http:
        # 600 points a minute come back at 10 a second: the bounds below leave 10 s for that
        before = await http.post(server.graphql, json={"query": "{ __typename }"}, headers=auth)
        assert before.headers["x-ratelimit-limit"] == "600"
        payload = await _ws_result(server.ws, PAGE_OF_100, token)
        cost = payload["extensions"]["cost"]
        assert cost["requested"] == 201 and cost["limit"] == 600
        assert cost["remaining"] <= _remaining(before) - 101
        after = await http.post(server.graphql, json={"query": "{ __typename }"}, headers=auth)
        assert _remaining(after) <= _remaining(before) - 101  # the socket's charge is in the user's bucket
        # anonymous sockets are charged to their address's bucket, as anonymous HTTP is
        anonymous = await _ws_result(server.ws, PAGE_OF_100)
        assert anonymous["extensions"]["cost"]["limit"] == 500
        plain = await http.post(server.graphql, json={"query": "{ __typename }"})
        assert plain.headers["x-ratelimit-limit"] == "500"
        assert _remaining(plain) <= 500 - 101
