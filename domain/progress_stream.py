"""A video's progress as a stream: the current state from PostgreSQL first, then live events,
ending after a terminal status. Late or reconnecting subscribers therefore never miss the end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from domain.errors import DomainError, Unauthenticated
from domain.identity import Principal
from domain.pipeline import Event
from domain.progress import video_channel
from domain.transactions import separate_read
from domain.video import get_video

if TYPE_CHECKING:
    from runtime.events import EventBus
    from runtime.resources import Resources

SESSION_TICK_SECONDS = 2.0
"""How often an idle stream looks (in memory) whether its socket's session ended."""
POLL_SECONDS = 30.0
"""How often a video's stream re-reads PostgreSQL when no event came: bounds the damage of a
publish lost while the bus stayed connected (a reconnect sends RESYNC, which re-reads at once)."""


def _bus(resources: Resources) -> EventBus:
    if resources.events is None:
        raise RuntimeError("the event bus is not started (runtime.events.start_events)")
    return resources.events


async def _current(resources: Resources, principal: Principal, video_id: uuid.UUID) -> Event:
    async with separate_read(resources.sessionmaker, why="STREAM") as session:
        return Event.of(await get_video(session, principal, video_id))


SignedIn = Callable[[], bool]
"""Whether the subscriber's session still holds: read in memory (domain.session_watch)."""

Drop = Callable[[], None]
"""Called (once) when the subscriber fell a queue's worth of events behind: it is too slow to keep,
and keeping its events would hold memory and the fan-out for everyone else."""


class TooSlow(DomainError):
    code = "SLOW_CONSUMER"


def parsed(raw: dict[str, Any]) -> Event:
    """The event of a bus message, parsed once for all its subscribers (they share the dict),
    so equal payloads downstream are the same object."""
    event = raw.get("__event__")
    if event is None:
        event = raw["__event__"] = Event.from_json(raw)
    return event


def _too_slow(raw: dict[str, Any]) -> None:
    if raw.get("type") == "dropped":
        raise TooSlow("This subscription fell too far behind its events and was ended; subscribe again.")


def _still_signed_in(signed_in: SignedIn | None) -> None:
    if signed_in is not None and not signed_in():
        raise Unauthenticated("Your session has ended; sign in again.")


async def progress_stream(
    resources: Resources,
    principal: Principal,
    video_id: uuid.UUID,
    signed_in: SignedIn | None = None,
    on_overflow: Drop | None = None,
) -> AsyncIterator[Event]:
    """The stream ends UNAUTHENTICATED once `signed_in` says the session ended."""
    loop = asyncio.get_running_loop()
    bus = _bus(resources)
    async with bus.subscribe(video_channel(resources, video_id), on_overflow) as sub:
        # Subscribed before reading: nothing published between the read and the subscription is lost.
        last = await _current(resources, principal, video_id)
        read_at = loop.time()
        yield last
        while not last.status.terminal:
            try:
                raw = await asyncio.wait_for(sub.get(), SESSION_TICK_SECONDS)
            except TimeoutError:
                _still_signed_in(signed_in)
                if loop.time() - read_at < POLL_SECONDS:
                    continue
                raw = {"type": "resync"}  # time to re-read the stored state
            _too_slow(raw)
            if raw.get("type") == "resync":
                event = await _current(resources, principal, video_id)
                read_at = loop.time()
            else:
                event = parsed(raw)
            _still_signed_in(signed_in)
            if event.run < last.run:
                continue
            if (
                event.run == last.run
                and not event.status.terminal
                and (
                    event.progress < last.progress
                    or (
                        event.progress == last.progress
                        and event.status == last.status
                        and event.stage == last.stage
                        and event.message == last.message
                    )
                )
            ):
                continue  # stale or duplicate: progress never goes backwards within a run
            if event.run == last.run and event.progress < last.progress:
                event = Event(
                    event.video_id,
                    event.user_id,
                    event.status,
                    event.stage,
                    last.progress,
                    event.message,
                    event.run,
                    event.at,
                )
            last = event
            yield event


async def user_stream(
    resources: Resources,
    principal: Principal,
    signed_in: SignedIn | None = None,
    on_overflow: Drop | None = None,
) -> AsyncIterator[Event]:
    """Every progress event of the signed-in user's videos, live (a dashboard's feed).
    Endless; after a RESYNC the client should re-query its list."""
    from domain.progress import user_channel

    user_id = principal.require_user()
    bus = _bus(resources)
    async with bus.subscribe(user_channel(resources, user_id), on_overflow) as sub:
        while True:
            try:
                raw = await asyncio.wait_for(sub.get(), SESSION_TICK_SECONDS)
            except TimeoutError:
                _still_signed_in(signed_in)
                continue
            _still_signed_in(signed_in)
            _too_slow(raw)
            if raw.get("type") == "resync":
                continue
            event = parsed(raw)
            if event.user_id == user_id:
                yield event
