"""A small graphql-transport-ws client over the `websockets` library, for end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import websockets


class GraphQLWs:
    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.token = token
        self.conn: Any = None

    async def __aenter__(self) -> GraphQLWs:
        self.conn = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        payload = {"authorization": f"Bearer {self.token}"} if self.token else {}
        await self.conn.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(self.conn.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.close()

    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None, timeout: float = 120
    ) -> AsyncIterator[dict[str, Any]]:
        """Yields each `next` payload; returns on `complete`; raises on `error`."""
        op = uuid.uuid4().hex
        await self.conn.send(
            json.dumps(
                {"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}}
            )
        )
        while True:
            msg = json.loads(await asyncio.wait_for(self.conn.recv(), timeout))
            if msg.get("type") == "ping":
                await self.conn.send(json.dumps({"type": "pong"}))
                continue
            if msg.get("id") != op:
                continue
            if msg["type"] == "next":
                yield msg["payload"]
            elif msg["type"] == "complete":
                return
            elif msg["type"] == "error":
                raise AssertionError(f"subscription error: {msg['payload']}")
