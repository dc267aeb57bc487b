"""Issue #10 items 7 and 9 against `autovideo serve` (uvicorn's own logging and proxy handling):
its log file carries no password, no media signature and no GraphQL document; X-Forwarded-For
from the local machine is not believed unless the address is a configured trusted proxy."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from domain import audit
from persistence.audit import AuditEvent
from providers.storage.local import sign
from tests.live import LiveServer, service_env

SECRET = "Correct-Horse-Battery-Staple-42"
LOGIN = 'mutation { login(input: {login: "nobody@example.com", password: "' + SECRET + '"}) { accessToken } }'
KEY = "videos/abc/v1/video.mp4"


@pytest.fixture
def server(tmp_path, e2e_database, services, redis_prefix):
    env = service_env(e2e_database, services[1], tmp_path / "data", redis_prefix)
    env["AUTOVIDEO_LOG_LEVEL"] = "INFO"
    srv = LiveServer(env, tmp_path / "server.log", worker=False)
    media = tmp_path / "data" / "media" / KEY
    media.parent.mkdir(parents=True)
    media.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    srv.secret = env["AUTOVIDEO_SECRET_KEY"]  # type: ignore[attr-defined]
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def _login_failures(database_url: str) -> list[str]:
    async def read() -> list[str]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:
                stmt = select(AuditEvent.client_address).where(AuditEvent.action == audit.LOGIN_FAILED)
                return [str(a) for a in await conn.scalars(stmt)]
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.mark.e2e
def test_server_log_holds_no_secrets(server, e2e_database):
    posted = httpx.post(server.graphql, json={"query": LOGIN}, headers={"X-Forwarded-For": "203.0.113.7"})
    assert posted.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # GET puts the document (and its literals) in the URL
    got = httpx.get(server.graphql, params={"query": '{ video(id: "' + SECRET + '") { id } }'})
    assert got.json()["errors"][0]["extensions"]["code"]
    exp = int(time.time()) + 600
    signature = sign(server.secret, KEY, exp)
    media = httpx.get(f"{server.url}/media/{KEY}", params={"exp": exp, "sig": signature})
    assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
    assert media.headers["x-content-type-options"] == "nosniff"

    # uvicorn's default trusted any local proxy: the spoofed address would have been audited
    assert _login_failures(e2e_database) == ["127.0.0.1"]

    server.stop()  # flushes the log
    log = server.output()
    assert "/media/videos/abc/v1/video.mp4?<redacted>" in log, log[-2000:]
    rid = media.headers["x-request-id"]
    assert any(rid in line and "/media/" in line for line in log.splitlines()), "access lines carry the id"
    for leak in (SECRET, signature, "sig=", "password", "Traceback"):
        assert leak not in log, leak
    assert " ERROR " not in log, log[-2000:]
