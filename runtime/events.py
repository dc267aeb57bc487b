"""Redis pub/sub for progress events, through broadcaster's Redis backend, made robust.

broadcaster 0.3.1 neither reconnects (its listener dies with the connection) nor
bounds subscriber queues. This bus adds both: a supervisor re-creates the backend
and re-subscribes every channel when Redis comes back, and each subscriber has a
bounded queue that drops its oldest event when full. After a reconnect or a drop
subscribers receive RESYNC, on which they re-read the state from PostgreSQL, so
no subscriber ever misses a final state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from broadcaster._backends.redis import RedisBackend
from prometheus_client import Counter, Gauge

from runtime.telemetry import metric

if TYPE_CHECKING:
    from runtime.resources import Resources

log = logging.getLogger(__name__)

RESYNC: dict[str, Any] = {"type": "resync"}
QUEUE_SIZE = 64


DROPPED: dict[str, Any] = {"type": "dropped"}

SUBSCRIBERS = metric(Gauge, "autovideo_event_subscribers", "Live event-bus subscribers (subscriptions)", [])
SUBSCRIBERS_DROPPED = metric(
    Counter,
    "autovideo_event_subscribers_dropped_total",
    "Subscribers dropped for not reading their events",
    [],
)


class Subscription:
    def __init__(
        self,
        bus: EventBus,
        channel: str,
        on_overflow: Callable[[], None] | None = None,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.bus = bus
        self.channel = channel
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_size)
        self.on_overflow = on_overflow
        self.dropped = False

    def offer(self, item: dict[str, Any]) -> None:
        """Never blocks the fan-out. A subscriber too slow to keep up (a queue's worth behind)
        is dropped when it has an `on_overflow` (a websocket client: the callback ends it, the
        stream gets DROPPED); otherwise it loses what it had queued and gets RESYNC (re-read the
        state) followed by the newest events."""
        if self.dropped:
            return
        if self.queue.full():
            while not self.queue.empty():
                self.queue.get_nowait()
            if self.on_overflow is not None:
                self.dropped = True
                SUBSCRIBERS_DROPPED.inc()
                self.queue.put_nowait(DROPPED)
                self.on_overflow()
                return
            self.queue.put_nowait(RESYNC)
        self.queue.put_nowait(item)

    async def get(self) -> dict[str, Any]:
        return await self.queue.get()


class EventBus:
    def __init__(self, redis_url: str, *, health_interval: float = 1.0, queue_size: int = QUEUE_SIZE) -> None:
        self.redis_url = redis_url
        self.health_interval = health_interval
        self.queue_size = queue_size
        """Events a subscriber may fall behind: beyond, it is dropped (or told to resync)."""
        self._backend: RedisBackend | None = None
        self._subs: dict[str, set[Subscription]] = {}
        self._pump: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.connected = False

    async def start(self) -> None:
        await self._connect()
        self._supervisor = asyncio.create_task(self._supervise(), name="eventbus-supervisor")

    async def stop(self) -> None:
        for task in (self._supervisor, self._pump):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        await self._drop_backend()

    async def _connect(self) -> None:
        backend = RedisBackend(self.redis_url)
        await backend.connect()
        for channel in list(self._subs):
            await backend.subscribe(channel)
        self._backend = backend
        self._pump = asyncio.create_task(self._fan_out(backend), name="eventbus-pump")
        self.connected = True

    async def _drop_backend(self) -> None:
        backend, self._backend = self._backend, None
        self.connected = False
        if backend is not None:
            with contextlib.suppress(Exception):
                await backend.disconnect()
            listener = getattr(backend, "_listener", None)
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(BaseException):
                    await listener

    async def _fan_out(self, backend: RedisBackend) -> None:
        while True:
            event = await backend.next_published()
            try:
                payload = json.loads(event.message)
            except ValueError:
                continue
            for sub in list(self._subs.get(event.channel, ())):
                sub.offer(payload)

    def _healthy(self) -> bool:
        backend = self._backend
        listener = getattr(backend, "_listener", None)
        return backend is not None and listener is not None and not listener.done()

    async def _supervise(self) -> None:
        delay = self.health_interval
        while True:
            await asyncio.sleep(delay)
            if self._healthy():
                delay = self.health_interval
                continue
            async with self._lock:
                log.warning("event bus lost Redis; reconnecting")
                if self._pump is not None:
                    self._pump.cancel()
                await self._drop_backend()
                try:
                    await self._connect()
                except Exception:
                    delay = min(delay * 2, 10.0)
                    continue
                delay = self.health_interval
                for subs in self._subs.values():
                    for sub in subs:
                        sub.offer(RESYNC)

    async def publish(self, channel: str, message: dict[str, Any]) -> bool:
        """Best effort: PostgreSQL holds the truth, so a lost event costs only latency."""
        backend = self._backend
        if backend is None:
            return False
        try:
            await backend.publish(channel, json.dumps(message, default=str))
            return True
        except Exception:
            log.warning("could not publish on %s", channel)
            return False

    @contextlib.asynccontextmanager
    async def subscribe(
        self, channel: str, on_overflow: Callable[[], None] | None = None
    ) -> AsyncIterator[Subscription]:
        sub = Subscription(self, channel, on_overflow, self.queue_size)
        first = channel not in self._subs
        self._subs.setdefault(channel, set()).add(sub)
        SUBSCRIBERS.inc()
        if first and self._backend is not None:
            with contextlib.suppress(Exception):
                await self._backend.subscribe(channel)
        try:
            yield sub
        finally:
            SUBSCRIBERS.dec()
            subs = self._subs.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[channel]
                    if self._backend is not None:
                        with contextlib.suppress(Exception):
                            await self._backend.unsubscribe(channel)


async def start_events(resources: Resources) -> EventBus:
    bus = EventBus(resources.redis_url, queue_size=resources.settings.subscriber_queue_size)
    await bus.start()
    resources.events = bus
    resources.closers.append(bus.stop)
    return bus
