"""A websocket outlives tokens: logging out (or deactivation) ends its subscriptions and its
next operations are anonymous."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.gql import body
from tests.pipeline.test_pipeline_e2e import CREATE, PROGRESS, gql
from tests.ws import GraphQLWs


@pytest.fixture
def server(live_api):
    return live_api


@pytest.mark.e2e
async def test_logout_ends_the_sockets_subscription_and_rights(server):
    data = gql(
        server,
        """mutation { register(input: {username: "wsend", email: "wsend@example.com",
                 password: "a sturdy passphrase 42"}) { accessToken refreshToken } }""",
    )["register"]
    token = data["accessToken"]
    vid = gql(server, CREATE, {"input": {"title": "Waits", "prompt": "nothing runs it"}}, token)[
        "createVideo"
    ]["id"]
    async with GraphQLWs(server.ws, token) as ws:
        stream = ws.subscribe(PROGRESS, {"id": vid}, timeout=30)
        first = await stream.__anext__()
        assert first["data"]["videoProgress"]["status"] == "PENDING"  # no worker: it just waits

        r = httpx.post(
            server.graphql,
            json={
                "query": "mutation($r: String) { logout(refreshToken: $r) }",
                "variables": {"r": data["refreshToken"]},
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.json()["data"]["logout"] is True

        ended = await asyncio.wait_for(stream.__anext__(), 20)
        assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        me = [p async for p in ws.subscribe("query { me { username } }")]
        assert [body(p) for p in me] == [{"data": {"me": None}}]
