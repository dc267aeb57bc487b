"""The typed GraphQL context.

One context exists per HTTP request, and one per websocket connection; the
database session and DataLoaders are per *operation* (see graphql_runtime.unit_of_work),
so concurrent operations on one socket never share a transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocket
from strawberry.types import Info as _Info

from domain.identity import Principal

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from domain.admission import Admission
    from domain.session_watch import LiveSession
    from graphql_runtime.loaders import Loaders
    from runtime.resources import Resources


class Operation:
    """State of one GraphQL operation: its transaction, loaders and after-commit work.

    The session opens on first use, so an operation that runs no SQL (`{ __typename }`, a
    refused request) checks out no connection. Queries read in autocommit mode (each statement
    sees committed data, as it would under READ COMMITTED inside a transaction) and save the
    BEGIN and COMMIT round trips; mutations and subscriptions' events run in one transaction."""

    def __init__(self, context: Context, *, read_only: Callable[[], bool]) -> None:
        self._context = context
        self._read_only = read_only
        self._session: AsyncSession | None = None
        self._loaders: Loaders | None = None
        self.after_commit: list[Callable[[], Awaitable[None]]] = []
        self.always: list[Callable[[], Awaitable[None]]] = []
        """Work that runs whether the operation committed or rolled back (e.g. recording a failed login)."""

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            resources = self._context.resources
            maker = (self._read_only() and resources.read_sessionmaker) or resources.sessionmaker
            self._session = maker()
        return self._session

    @property
    def opened(self) -> AsyncSession | None:
        """The session if one was opened."""
        return self._session

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from graphql_runtime.loaders import Loaders

            self._loaders = Loaders(self.session, self._context.principal, self._context.resources)
        return self._loaders


current_operation: contextvars.ContextVar[Operation | None] = contextvars.ContextVar(
    "current_operation", default=None
)


@dataclass
class Context:
    resources: Resources
    principal: Principal
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    client_address: str | None = None
    user_agent: str | None = None
    bearer: str | None = None
    """The websocket's token: a socket lives longer than a token or an account may."""
    live_session: LiveSession | None = None
    """A websocket signed in with a token: its session, re-checked by the SessionWatch."""
    admission: Admission | None = None
    """An HTTP request's admission (principal and operation-rate verdict), made by the view."""
    extra: dict[str, Any] = field(default_factory=dict)

    def still_signed_in(self) -> bool:
        """For a websocket's subscriptions: False once the session its token belongs to ended
        (revoked, expired, account deactivated…), as the process's SessionWatch last saw it.
        No I/O: thousands of subscribers ask on every event."""
        return self.live_session is None or self.live_session.valid()

    def drop_when_too_slow(self) -> Callable[[], None] | None:
        """For a websocket subscription: what to do when its client stops reading (its events
        pile up): end the subscription's task (which a blocked send would never return to) and
        close the socket. None over HTTP."""
        socket = self.request
        if not isinstance(socket, WebSocket):
            return None
        task = asyncio.current_task()

        def close(_: object = None) -> None:
            closing = asyncio.ensure_future(_close_quietly(socket))
            _closing.add(closing)  # held until done: a task nobody references may be collected
            closing.add_done_callback(_closing.discard)

        def drop() -> None:
            log.warning("websocket subscriber too slow: dropped")
            if task is None or task.done():
                close()
            else:  # the socket closes once the subscription's task has ended
                task.add_done_callback(close)
                task.cancel()

        return drop

    @property
    def operation(self) -> Operation:
        op = current_operation.get()
        if op is None:
            raise RuntimeError("no GraphQL operation in progress")
        return op

    @property
    def session(self) -> AsyncSession:
        return self.operation.session

    @property
    def loaders(self) -> Loaders:
        return self.operation.loaders

    def after_commit(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Run `fn` once the operation's transaction has committed (enqueue jobs, publish events)."""
        self.operation.after_commit.append(fn)

    def regardless(self, fn: Callable[[], Awaitable[None]]) -> None:
        self.operation.always.append(fn)

    # dict-style access lets strawberry's websocket handler store connection_params.
    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


_closing: set[asyncio.Future[None]] = set()
CLOSE_WAIT_SECONDS = 30.0


async def _close_quietly(socket: WebSocket) -> None:
    """Close with 1008 (policy). The frame waits behind what the client has not read yet: it goes
    out if the client reads again within CLOSE_WAIT_SECONDS, else the socket is left to time out."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(
            socket.close(code=1008, reason="Too slow: events were not read."), CLOSE_WAIT_SECONDS
        )


Info = _Info[Context, None]
