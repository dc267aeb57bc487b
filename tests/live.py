"""Real processes for end-to-end tests: `autovideo serve` / `autovideo worker` on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "runtime.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveProcess:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(
            [*CLI, *args], cwd=ROOT, env={**os.environ, **env}, stdout=self._fh, stderr=subprocess.STDOUT
        )

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._fh.close()
        return self.proc.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def output(self) -> str:
        if not self._fh.closed:
            self._fh.flush()
        return self.log.read_text(errors="replace")


class LiveServer(LiveProcess):
    def __init__(self, env: dict[str, str], log: Path, *, worker: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**env, "AUTOVIDEO_PUBLIC_BASE_URL": self.url}
        args = ["serve", "--port", str(self.port)] + ([] if worker else ["--no-worker"])
        super().__init__(args, env, log)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready:\n{self.output()[-3000:]}")

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


def service_env(database_url: str, redis_url: str, data_dir: Path, prefix: str) -> dict[str, str]:
    return {
        "AUTOVIDEO_DATABASE_URL": database_url,
        "AUTOVIDEO_REDIS_URL": redis_url,
        "AUTOVIDEO_DATA_DIR": str(data_dir),
        "AUTOVIDEO_REDIS_PREFIX": prefix,
        "AUTOVIDEO_SECRET_KEY": "e2e-secret-" + "y" * 40,
        "AUTOVIDEO_ENVIRONMENT": "test",
        "AUTOVIDEO_LOG_LEVEL": "WARNING",
    }
