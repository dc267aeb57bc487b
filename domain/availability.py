"""Which dependency is down: the one place that maps Redis, asyncpg and SQLAlchemy connection
failures to "service unavailable, retry later" (HTTP 503 with Retry-After, the GraphQL code
SERVICE_UNAVAILABLE), and that the worker uses to tell an outage from a bug.

Only failures to *reach* a server count: a refused or dropped connection, a timeout, a server
still loading its data or shutting down, a full connection pool. SQL errors, constraint
violations and Redis command errors stay what they are."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Literal

import asyncpg
import redis.exceptions
import sqlalchemy.exc

from domain.errors import DomainError

Dependency = Literal["redis", "database"]

RETRY_AFTER_SECONDS = 5
"""What a client is told to wait: the embedded Redis is back within a second or two, the
worker's supervisor checks every second, a managed database fails over in tens of seconds."""


class ServiceUnavailable(DomainError):
    code = "SERVICE_UNAVAILABLE"

    def __init__(self, dependency: Dependency, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(
            "The service is temporarily unavailable; retry in a few seconds.", retryAfter=retry_after
        )
        self.dependency = dependency
        self.retry_after = retry_after


_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)  # BusyLoadingError too
_PG_DOWN = (
    asyncpg.PostgresConnectionError,  # class 08: connection failures, ConnectionDoesNotExistError
    asyncpg.CannotConnectNowError,  # starting up / recovering
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    sqlalchemy.exc.TimeoutError,  # the pool stayed exhausted
)
# Raw socket errors (asyncpg raises ConnectionRefusedError / FileNotFoundError for a missing unix
# socket / TimeoutError while connecting) count only when raised inside a driver, so a storage
# or provider OSError is never mistaken for an outage.
_DRIVERS: tuple[tuple[str, Dependency], ...] = (
    ("asyncpg", "database"),
    ("sqlalchemy", "database"),
    ("redis", "redis"),
    ("arq", "redis"),
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _raised_in_driver(tb: types.TracebackType | None) -> Dependency | None:
    found: Dependency | None = None
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        for prefix, dependency in _DRIVERS:
            if module == prefix or module.startswith(prefix + "."):
                found = dependency  # the innermost driver frame decides
        tb = tb.tb_next
    return found


def unavailable_dependency(exc: BaseException) -> Dependency | None:
    """'redis' or 'database' when `exc` (or what caused it) means that server cannot be reached."""
    for e in _chain(exc):
        if isinstance(e, ServiceUnavailable):
            return e.dependency
        if isinstance(e, _REDIS_DOWN):
            return "redis"
        if isinstance(e, _PG_DOWN):
            return "database"
        if isinstance(e, sqlalchemy.exc.DBAPIError) and e.connection_invalidated:
            return "database"
        if isinstance(e, (ConnectionError, TimeoutError, FileNotFoundError)):
            dependency = _raised_in_driver(e.__traceback__)
            if dependency is not None:
                return dependency
    return None


def as_unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """The error to answer with when `exc` means a dependency is down, else None."""
    if isinstance(exc, ServiceUnavailable):
        return exc
    dependency = unavailable_dependency(exc)
    return ServiceUnavailable(dependency) if dependency is not None else None
