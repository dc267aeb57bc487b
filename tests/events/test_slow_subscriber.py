"""A websocket client that stops reading is dropped; the others do not wait for it.

Through a real `autovideo serve`: 50 clients follow one user's events beside a client that never
reads. Events are published in rounds of ROUND, each round once every reader has had the one
before: the readers are never more than a round behind, the stalled client falls further behind
every round. Every reader gets every event, and the server drops the one that stopped reading
(its socket closed with 1008) instead of buffering for it. Counted, not timed."""

from __future__ import annotations

import asyncio
import base64
import json
import random
import socket
import uuid
from datetime import UTC, datetime

import jwt
import pytest
import redis.asyncio as aioredis
import websockets
from websockets.typing import Subprotocol

from tests.pipeline.test_pipeline_e2e import register

EVENTS = "subscription { myVideoEvents { videoId progress message } }"
READERS = 50
QUEUE = 16  # AUTOVIDEO_SUBSCRIBER_QUEUE_SIZE for this server
ROUND = 8
PUBLISHED = 480
# 32 KB of incompressible text a message, 15 MB in all: more than the kernel buffers for a
# stalled connection (~3 MB here) and its queue.
PAD = base64.b64encode(random.Random(7).randbytes(24_000)).decode()


@pytest.fixture
def server(tmp_path, e2e_database, services, redis_prefix):
    from tests.live import LiveServer, service_env

    env = service_env(e2e_database, services[1], tmp_path / "data", redis_prefix)
    env["AUTOVIDEO_SUBSCRIBER_QUEUE_SIZE"] = str(QUEUE)
    live = LiveServer(env, tmp_path / "server.log", worker=False)
    try:
        live.wait_ready()
        yield live
    finally:
        live.stop()


async def _connect(url: str, token: str, **kw):
    ws = await websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")], **kw)
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}))
    return ws


def _event(user_id: str, video_id: str, n: int, message: str) -> str:
    return json.dumps(
        {
            "videoId": video_id,
            "userId": user_id,
            "status": "processing",
            "stage": "assembly",
            "progress": n % 100,
            "message": message,
            "run": 1,
            "at": datetime.now(UTC).isoformat(),
        }
    )


async def _warmed(ws) -> None:
    while json.loads(await ws.recv())["type"] != "next":
        pass


async def _read_round(ws, last: int) -> None:
    """Until this round's last event arrives; none is skipped (checked by number)."""
    expected = last - ROUND + 1
    while expected <= last:
        msg = json.loads(await ws.recv())
        assert msg["type"] == "next", msg
        message = msg["payload"]["data"]["myVideoEvents"]["message"]
        if message.startswith("load"):
            assert message == f"load {expected} {PAD}"
            expected += 1


@pytest.mark.e2e
async def test_a_client_that_stops_reading_is_dropped_and_delays_no_one(server, services, redis_prefix):
    token = register(server)
    user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    channel = f"{redis_prefix}:user:{user_id}"
    redis = aioredis.Redis.from_url(services[1])
    video_id = str(uuid.uuid4())

    # The stalled client: a small receive window, at most one message taken off the socket.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", server.port))
    stalled = await _connect(server.ws, token, sock=raw, max_queue=1, max_size=None)
    readers = [await _connect(server.ws, token, max_size=None) for _ in range(READERS)]
    try:
        # Every subscription is live once each reader has had a warm-up event.
        async def warm_up() -> None:
            while True:
                await redis.publish(channel, _event(user_id, video_id, 0, "warm-up"))
                await asyncio.sleep(0.2)

        beat = asyncio.create_task(warm_up())
        try:
            await asyncio.wait_for(asyncio.gather(*(_warmed(ws) for ws in readers)), 30)
        finally:
            beat.cancel()

        for start in range(0, PUBLISHED, ROUND):
            for n in range(start, start + ROUND):
                await redis.publish(channel, _event(user_id, video_id, n, f"load {n} {PAD}"))
            # every reader had the whole round: nobody lost an event, nobody waits for the stalled
            last = start + ROUND - 1
            await asyncio.wait_for(asyncio.gather(*(_read_round(ws, last) for ws in readers)), 60)

        # The stalled client was dropped: once it reads again, what was buffered for it arrives,
        # then the close (1008), long before all the events it would have been sent.
        got = 0
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                msg = json.loads(await asyncio.wait_for(stalled.recv(), 30))
                got += msg["type"] == "next"
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert got < PUBLISHED
    finally:
        for ws in [*readers, stalled]:
            await ws.close()
        await redis.aclose()
