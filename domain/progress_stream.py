"""A video's progress as a stream: the current state from PostgreSQL first, then live events,
ending after a terminal status. Late or reconnecting subscribers therefore never miss the end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from domain.errors import Unauthenticated
from domain.identity import Principal
from domain.pipeline import Event
from domain.progress import video_channel
from domain.video import get_video

# How often to re-read PostgreSQL when no event came: bounds the damage of a lost publish.
POLL_SECONDS = 5.0


async def _current(resources: Any, principal: Principal, video_id: uuid.UUID) -> Event:
    async with resources.sessionmaker() as session:
        return Event.of(await get_video(session, principal, video_id))


Recheck = Callable[[], Awaitable[Principal]]


def parsed(raw: dict[str, Any]) -> Event:
    """The event of a bus message, parsed once for all its subscribers (they share the dict),
    so equal payloads downstream are the same object."""
    event = raw.get("__event__")
    if event is None:
        event = raw["__event__"] = Event.from_json(raw)
    return event  # type: ignore[no-any-return]


async def _still_signed_in(recheck: Recheck | None) -> None:
    if recheck is not None and not (await recheck()).authenticated:
        raise Unauthenticated("Your session has ended; sign in again.")


async def progress_stream(
    resources: Any, principal: Principal, video_id: uuid.UUID, recheck: Recheck | None = None
) -> AsyncIterator[Event]:
    """`recheck` re-authenticates the caller; the stream ends UNAUTHENTICATED once it fails."""
    bus = resources.extras["events"]
    async with bus.subscribe(video_channel(resources, video_id)) as sub:
        # Subscribed before reading: nothing published between the read and the subscription is lost.
        last = await _current(resources, principal, video_id)
        yield last
        while not last.status.terminal:
            try:
                raw = await asyncio.wait_for(sub.get(), POLL_SECONDS)
                event = (
                    await _current(resources, principal, video_id)
                    if raw.get("type") == "resync"
                    else parsed(raw)
                )
            except TimeoutError:
                event = await _current(resources, principal, video_id)
            await _still_signed_in(recheck)
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
    resources: Any, principal: Principal, recheck: Recheck | None = None
) -> AsyncIterator[Event]:
    """Every progress event of the signed-in user's videos, live (a dashboard's feed).
    Endless; after a RESYNC the client should re-query its list."""
    from domain.progress import user_channel

    user_id = principal.require_user()
    bus = resources.extras["events"]
    async with bus.subscribe(user_channel(resources, user_id)) as sub:
        while True:
            try:
                raw = await asyncio.wait_for(sub.get(), POLL_SECONDS)
            except TimeoutError:
                await _still_signed_in(recheck)
                continue
            await _still_signed_in(recheck)
            if raw.get("type") == "resync":
                continue
            event = parsed(raw)
            if event.user_id == user_id:
                yield event
