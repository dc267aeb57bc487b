"""`autovideo serve` with nothing configured: embedded PostgreSQL and Redis, GraphQL answers,
and Ctrl-C leaves no server process behind."""

from __future__ import annotations

import os
import signal
import time

import httpx
import psutil
import pytest

from tests.gql import body
from tests.live import LiveServer


def processes_using(path: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(path in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def redis_servers() -> list[psutil.Process]:
    out = []
    for proc in psutil.process_iter(["name"]):
        try:
            if "redis-server" in (proc.info["name"] or ""):
                proc.cwd()
                out.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


@pytest.mark.slow
@pytest.mark.e2e
# It clears every AUTOVIDEO_* variable and uses no test service: the serve starts embedded
# PostgreSQL and Redis of its own in either pass, so the embedded pass would only repeat it.
@pytest.mark.own_services
def test_zero_config_serve_and_clean_ctrl_c(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("AUTOVIDEO_"):
            monkeypatch.delenv(name)
    data = tmp_path / "data"
    server = LiveServer(
        {"AUTOVIDEO_DATA_DIR": str(data), "AUTOVIDEO_LOG_LEVEL": "WARNING"},
        tmp_path / "serve.log",
        worker=True,
    )
    try:
        server.wait_ready(timeout=120)
        r = httpx.post(server.graphql, json={"query": "{ __typename }"})
        assert body(r.json()) == {"data": {"__typename": "Query"}}
        ready = httpx.get(f"{server.url}/readyz").json()
        assert ready["status"] == "ok"
        assert processes_using(str(data)), "the embedded servers should run under the data folder"
        # redis-server daemonizes and names only its socket: find it by its working directory.
        spawned = processes_using(str(data)) + [p for p in redis_servers() if str(data) in p.cwd()]
        names = {p.name() for p in spawned}
        assert any("redis" in n for n in names) and any("postgres" in n for n in names), names
    finally:
        code = server.stop(signal.SIGINT, timeout=60)
    assert code == 0, server.output()[-2000:]
    deadline = time.monotonic() + 15
    while processes_using(str(data)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_using(str(data)) == []
    assert [p for p in spawned if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert (data / "postgres").is_dir() and any((data / "redis").iterdir())
