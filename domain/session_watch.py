"""Live websocket sessions, re-checked together rather than one by one.

A websocket outlives its token: logout, a revoked session, deactivation or a password change
must end its subscriptions. Checking each socket's token on every event cost one Redis round
trip per subscriber per event (1,000 subscribers: 1,000 trips for one event). Instead, every
socket signed in with a token is tracked here; one task per process re-checks all of them every
`interval` seconds in a single pipeline (revocations of each token and session, and the cached
state of each distinct account), and subscriptions only read the verdict in memory. Expiry is
checked locally at each read."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from domain import tokens
from domain.authentication import AuthState, current_roles_from, load_auth_state, state_key
from domain.errors import Unauthenticated

if TYPE_CHECKING:
    import uuid

    from runtime.resources import Resources

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 2.0


@dataclass(eq=False)
class LiveSession:
    user_id: uuid.UUID
    jti: str
    family: str | None
    issued_at: float
    expires_at: datetime
    ended: str | None = None
    """Why the session ended, once it has."""

    @classmethod
    def of(cls, claims: tokens.Claims) -> LiveSession:
        family = claims.extra.get("fam")
        return cls(
            claims.sub, claims.jti, str(family) if family else None, claims.issued_at, claims.expires_at
        )

    def valid(self) -> bool:
        if self.ended is None and datetime.now(UTC) >= self.expires_at:
            self.ended = "The token has expired."
        return self.ended is None

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason


class SessionWatch:
    def __init__(self, resources: Resources, interval: float = INTERVAL_SECONDS) -> None:
        self.resources = resources
        self.interval = interval
        self._sessions: weakref.WeakSet[LiveSession] = weakref.WeakSet()
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0
        """Completed re-checks (tests wait on it)."""

    def track(self, claims: tokens.Claims) -> LiveSession:
        session = LiveSession.of(claims)
        self._sessions.add(session)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="session-watch")
        return session

    def __len__(self) -> int:
        return len(self._sessions)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check_all()
            except Exception:  # Redis or PostgreSQL away: sessions keep their last verdict
                log.warning("live sessions not re-checked this round", exc_info=True)

    async def check_all(self) -> None:
        """One pipeline for every live session: revocations and account states."""
        from domain.admission import revoked_family_key, revoked_key

        sessions = [s for s in list(self._sessions) if s.valid()]
        if not sessions:
            self.rounds += 1
            return
        resources = self.resources
        users = list(dict.fromkeys(s.user_id for s in sessions))
        async with resources.redis.pipeline(transaction=False) as pipe:
            for s in sessions:
                keys = [revoked_key(resources, s.jti)]
                if s.family:
                    keys.append(revoked_family_key(resources, s.family))
                pipe.exists(*keys)
            for user_id in users:
                pipe.get(state_key(resources, user_id))
            replies = await pipe.execute()
        revoked, cached = replies[: len(sessions)], replies[len(sessions) :]
        states: dict[uuid.UUID, AuthState | None] = {}
        for user_id, raw in zip(users, cached, strict=True):
            # Not cached (it expires after 30 s): read once per account, and cache it again.
            states[user_id] = (
                AuthState.from_json(json.loads(raw)) if raw else await load_auth_state(resources, user_id)
            )
        for s, hit in zip(sessions, revoked, strict=True):
            if hit:
                s.end("The token has been revoked.")
                continue
            try:
                current_roles_from(states[s.user_id], issued_at=s.issued_at)
            except Unauthenticated as exc:
                s.end(exc.message)
        self.rounds += 1


def watch_of(resources: Resources) -> SessionWatch:
    """The process's watch (made on first use, stopped with the resources)."""
    watch = resources.session_watch
    if watch is None:
        watch = resources.session_watch = SessionWatch(resources)
    return watch
