"""Through a real server: HTTP (httpx) and websocket (graphql-transport-ws, `websockets`)."""

import asyncio
import json

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from tests.auth.helpers import LOGIN, LOGOUT, ME, PASSWORD, REFRESH, REGISTER, unique_name


@pytest.fixture
def server(live_api):
    return live_api


def _post(server, query, variables=None, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        server.graphql, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
    )


async def _ws_op(ws, op_id, query, variables=None):
    await ws.send(
        json.dumps(
            {"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}
        )
    )
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if msg.get("id") == op_id and msg["type"] in ("next", "error"):
            return msg["payload"]


async def _ws_connect(server, token):
    ws = await websockets.connect(server.ws, subprotocols=[Subprotocol("graphql-transport-ws")])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    return ws


@pytest.mark.e2e
def test_http_register_login_me_refresh_logout(server):
    name = unique_name()
    reg = _post(
        server, REGISTER, {"input": {"username": name, "email": f"{name}@example.com", "password": PASSWORD}}
    )
    assert reg.status_code == 200 and "errors" not in reg.json(), reg.text
    logged = _post(server, LOGIN, {"login": name, "password": PASSWORD}).json()["data"]["login"]
    me = _post(server, ME, token=logged["accessToken"]).json()
    assert me["data"]["me"]["username"] == name
    fresh = _post(server, REFRESH, {"t": logged["refreshToken"]}).json()["data"]["refreshToken"]
    out = _post(server, LOGOUT, {"t": fresh["refreshToken"]}, token=fresh["accessToken"]).json()
    assert out["data"]["logout"] is True
    refused = _post(server, ME, token=fresh["accessToken"])
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # the rotated-away refresh token is spent; the logged-out family is revoked
    again = _post(server, REFRESH, {"t": fresh["refreshToken"]}).json()
    assert again["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # and every access token of that session ends with it, not 15 minutes later
    earlier = _post(server, ME, token=logged["accessToken"])
    assert earlier.status_code == 401
    assert earlier.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.e2e
async def test_websocket_register_login_me_refresh_logout(server):
    name = unique_name()
    anon = await websockets.connect(server.ws, subprotocols=[Subprotocol("graphql-transport-ws")])
    await anon.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(await asyncio.wait_for(anon.recv(), 10))["type"] == "connection_ack"
    reg = await _ws_op(
        anon,
        "1",
        REGISTER,
        {"input": {"username": name, "email": f"{name}@example.com", "password": PASSWORD}},
    )
    assert "errors" not in reg, reg
    logged = (await _ws_op(anon, "2", LOGIN, {"login": name, "password": PASSWORD}))["data"]["login"]
    await anon.close()

    ws = await _ws_connect(server, logged["accessToken"])
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    me = await _ws_op(ws, "1", ME)
    assert me["data"]["me"]["username"] == name
    fresh = (await _ws_op(ws, "2", REFRESH, {"t": logged["refreshToken"]}))["data"]["refreshToken"]
    await ws.close()

    ws = await _ws_connect(server, fresh["accessToken"])
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    assert (await _ws_op(ws, "1", LOGOUT, {"t": fresh["refreshToken"]}))["data"]["logout"] is True
    await ws.close()

    # the logged-out access token, and garbage, close the socket with 4403
    for token in (fresh["accessToken"], "not-a-token", logged["refreshToken"]):
        ws = await _ws_connect(server, token)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403, token


@pytest.mark.e2e
def test_http_x_api_key_and_persisted_queries_over_get(server):
    import hashlib

    name = unique_name()
    reg = _post(
        server, REGISTER, {"input": {"username": name, "email": f"{name}@example.com", "password": PASSWORD}}
    ).json()["data"]["register"]
    created = _post(
        server, 'mutation { createApiKey(name: "ci") { key apiKey { prefix } } }', token=reg["accessToken"]
    ).json()["data"]["createApiKey"]
    r = httpx.post(
        server.graphql, json={"query": "{ me { username } }"}, headers={"X-Api-Key": created["key"]}
    )
    assert r.json()["data"]["me"]["username"] == name
    bad = httpx.post(server.graphql, json={"query": "{ me { username } }"}, headers={"X-Api-Key": "av_nope"})
    assert bad.status_code == 401
    query = "{ me { username } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    ext = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": digest}})
    miss = httpx.get(server.graphql, params={"extensions": ext}, headers={"X-Api-Key": created["key"]})
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    stored = httpx.get(
        server.graphql, params={"query": query, "extensions": ext}, headers={"X-Api-Key": created["key"]}
    )
    assert stored.json()["data"]["me"]["username"] == name
    hit = httpx.get(server.graphql, params={"extensions": ext}, headers={"X-Api-Key": created["key"]})
    assert hit.json()["data"]["me"]["username"] == name
