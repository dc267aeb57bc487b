"""The CLI's other commands, as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.live import ROOT, LiveProcess, free_port, service_env


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runtime.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.mark.e2e
def test_create_admin_then_sign_in(tmp_path, e2e_database, services, redis_prefix):
    env = service_env(e2e_database, services[1], tmp_path / "data", redis_prefix)
    made = cli("create-admin", "--username", "root_admin", "--email", "Root@Example.com",
               "--password", "a sturdy passphrase 42", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "created SUPER_ADMIN root_admin" in made.stdout
    again = cli("create-admin", "--username", "root_admin", "--email", "root@example.com",
                "--password", "a sturdy passphrase 42", env=env)  # fmt: skip
    assert again.returncode != 0 and "Traceback" not in again.stderr


@pytest.mark.e2e
def test_worker_serves_its_metrics(tmp_path, e2e_database, services, redis_prefix):
    port = free_port()
    env = {
        **service_env(e2e_database, services[1], tmp_path / "data", redis_prefix),
        "AUTOVIDEO_HOST": "127.0.0.1",
    }
    worker = LiveProcess(["worker", "--metrics-port", str(port)], env, tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, worker.output()[-2000:]
                time.sleep(0.2)
        assert "autovideo_queue_depth" in body or "autovideo_stage_runs_total" in body, body[:500]
    finally:
        assert worker.stop() == 0, worker.output()[-2000:]
