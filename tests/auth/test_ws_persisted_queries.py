"""Apollo APQ over graphql-transport-ws: an unknown hash is refused with its code, the client
resends with the document, and afterwards the hash alone is enough."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid

import pytest
import websockets

from tests.gql import body


async def send_subscribe(conn, payload: dict) -> list[dict]:
    op = uuid.uuid4().hex
    await conn.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
    got = []
    while True:
        msg = json.loads(await asyncio.wait_for(conn.recv(), 10))
        if msg.get("id") != op:
            continue
        got.append(msg)
        if msg["type"] in ("complete", "error"):
            return got


@pytest.mark.e2e
async def test_apq_over_websocket(live_api):
    query = "query Hello { __typename }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    async with websockets.connect(live_api.ws, subprotocols=["graphql-transport-ws"]) as conn:  # type: ignore[list-item]
        await conn.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await conn.recv())["type"] == "connection_ack"

        unknown = await send_subscribe(conn, {"extensions": persisted})
        assert unknown[-1]["type"] == "error"
        assert unknown[-1]["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

        first = await send_subscribe(conn, {"query": query, "extensions": persisted})
        assert {**first[0], "payload": body(first[0]["payload"])} == {
            "id": first[0]["id"],
            "type": "next",
            "payload": {"data": {"__typename": "Query"}},
        }

        again = await send_subscribe(conn, {"extensions": persisted})
        assert body(again[0]["payload"]) == {"data": {"__typename": "Query"}}

        wrong = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
        mismatch = await send_subscribe(conn, {"query": query, "extensions": wrong})
        assert mismatch[-1]["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"

        # a document that does not validate is not stored (the store waits for validation)
        invalid = "query Invalid { nope }"
        invalid_ext = {
            "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(invalid.encode()).hexdigest()}
        }
        refused = await send_subscribe(conn, {"query": invalid, "extensions": invalid_ext})
        assert refused[-1]["type"] == "error"
        missing = await send_subscribe(conn, {"extensions": invalid_ext})
        assert missing[-1]["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
