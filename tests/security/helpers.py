"""Helpers for the security tests: an in-process ASGI caller that counts the request bytes the
app read, sign-up over real HTTP, and the checks every answer must pass."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.auth.helpers import PASSWORD, REGISTER, unique_name
from tests.live import LiveServer, service_env

# What must never reach a client: tracebacks, SQL, driver or library internals.
LEAKS = re.compile(
    r"Traceback|File \"/|asyncpg|sqlalchemy|psycopg|SELECT |INSERT INTO|UPDATE .* SET|"
    r"RecursionError|AttributeError|TypeError|KeyError|IndexError|ValueError",
)


def assert_no_leak(text: str) -> None:
    found = LEAKS.search(text)
    assert found is None, f"internal detail {found.group(0)!r} in a response: {text[:500]}"


def error_code(response: httpx.Response) -> str:
    body = response.json()
    return str(body["errors"][0]["extensions"]["code"])


@dataclass
class AsgiAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    read: int  # request body bytes the app pulled through receive()
    messages: int  # http.request messages the app pulled

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class _Body:
    chunks: Iterator[bytes]
    read: int = 0
    messages: int = 0
    done: bool = False
    pending: list[bytes] = field(default_factory=list)


def chunked(total: int, chunk: int = 64 * 1024, head: bytes = b"", fill: bytes = b" ") -> Iterator[bytes]:
    """`head` then filler, `total` bytes in all, produced lazily in `chunk`-sized pieces."""
    yield head
    left = total - len(head)
    while left > 0:
        n = min(chunk, left)
        yield fill * n
        left -= n


async def call_asgi(
    app: Any,
    *,
    method: str = "POST",
    path: str = "/graphql",
    headers: Iterable[tuple[str, str]] = (),
    body: Iterable[bytes] = (b"",),
    query_string: bytes = b"",
) -> AsgiAnswer:
    state = _Body(iter(body))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> dict[str, Any]:
        if state.done:
            return {"type": "http.disconnect"}
        chunk = next(state.chunks, None)
        if chunk is None:
            state.done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        state.read += len(chunk)
        state.messages += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    hdrs = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    return AsgiAnswer(start["status"], hdrs, payload, state.read, state.messages)


def sign_up(url: str) -> str:
    """A new CREATOR over real HTTP; returns its access token."""
    name = unique_name("sec")
    r = httpx.post(
        url,
        json={
            "query": REGISTER,
            "variables": {"input": {"username": name, "email": f"{name}@example.com", "password": PASSWORD}},
        },
        timeout=30,
    )
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    return str(r.json()["data"]["register"]["accessToken"])


@contextmanager
def module_server(tmp: Path, services: Any, **settings: str) -> Iterator[LiveServer]:
    """`autovideo serve --no-worker` on a database of its own, shared by one test module (a
    server takes seconds to start). `settings` become AUTOVIDEO_* variables."""
    import redis

    from tests.conftest import PREFIX, _recreate_database, template_name
    from tests.services import database_url

    admin, redis_url = services
    name = f"{PREFIX}_sec_{uuid.uuid4().hex[:8]}"
    asyncio.run(_recreate_database(admin, name, template=template_name()))
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    env = service_env(database_url(admin, name), redis_url, tmp / "data", prefix)
    env.update({f"AUTOVIDEO_{k.upper()}": v for k, v in settings.items()})
    srv = LiveServer(env, tmp / "server.log", worker=False)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
        client.close()
