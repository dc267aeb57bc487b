"""Traces and process metrics: one setup per process, shared by the API and the workers.

Tracing is off unless AUTOVIDEO_OTEL_EXPORTER_OTLP_ENDPOINT or AUTOVIDEO_OTEL_CONSOLE is set: then
no SDK provider exists, nothing is instrumented and the OpenTelemetry API calls left in our code
are no-ops. Prometheus metrics are always on (they cost a dict lookup and an add).

We keep our own reference to the provider and hand it to every instrumentation explicitly,
instead of relying on the global one alone: OpenTelemetry lets a process set its global provider
only once, and tests need to install (and remove) a provider with an in-memory exporter.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import propagate, trace
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.routing import BaseRoute
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from runtime.resources import Resources
    from runtime.settings import Settings

log = logging.getLogger(__name__)

M = TypeVar("M")

# Probes and scrapes would drown the traces and say nothing.
UNTRACED_PATHS = ("/healthz", "/readyz", "/metrics")


class _State:
    configured = False
    provider: TracerProvider | None = None
    redis_provider: TracerProvider | None = None


_state = _State()


# ------------------------------------------------------------------ tracing


def setup_telemetry(
    settings: Settings, service_name: str | None = None, *, provider: TracerProvider | None = None
) -> TracerProvider | None:
    """Configure tracing for this process; returns the provider in use (None: tracing is off).

    Idempotent: later calls return the first result. An explicit `provider` (tests, embedding
    applications) always wins and is not made global, so it can be replaced or reset."""
    if provider is not None:
        _state.provider = provider
    elif not _state.configured:
        _state.provider = _sdk_provider(settings, service_name or settings.otel_service_name)
        if _state.provider is not None:
            trace.set_tracer_provider(_state.provider)  # for libraries that only know the global one
    _state.configured = True
    if _state.provider is not None:
        _instrument_redis(_state.provider)
    return _state.provider


def reset_telemetry() -> None:
    """Forget the provider and undo the process-wide instrumentation (tests)."""
    if _state.redis_provider is not None:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        RedisInstrumentor().uninstrument()
        _state.redis_provider = None
    _state.provider = None
    _state.configured = False


def tracer_provider() -> TracerProvider | None:
    """The provider set up for this process, None while tracing is off."""
    return _state.provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name, tracer_provider=_state.provider)


def _sdk_provider(settings: Settings, service_name: str) -> TracerProvider | None:
    if not (settings.otel_exporter_otlp_endpoint or settings.otel_console):
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)),
    )
    if settings.otel_exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"  # accept the collector's base URL, as the OTEL_* variables do
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if settings.otel_console:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    log.info("tracing on: service %s, sample ratio %s", service_name, settings.otel_sample_ratio)
    return provider


def _instrument_redis(provider: TracerProvider) -> None:
    """Redis instrumentation patches the client classes, so it is process-wide: done once, and
    redone only when a test swaps the provider."""
    if _state.redis_provider is provider:
        return
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    if _state.redis_provider is not None:
        RedisInstrumentor().uninstrument()
    RedisInstrumentor().instrument(tracer_provider=provider)
    _state.redis_provider = provider


def instrument_engine(engine: AsyncEngine) -> None:
    """Trace the statements of one engine (its sync core: the async engine has no events).

    The instrumentor's own `instrument(engine=…)` only works for the first engine of a process
    (it guards against being called twice), and we make one per runtime; EngineTracer is what it
    uses per engine. Its listeners are held through weak references, so engines still die."""
    if _state.provider is None:
        return
    sync_engine = engine.sync_engine
    if getattr(sync_engine, "_autovideo_traced", False):
        return
    from opentelemetry.instrumentation.sqlalchemy import EngineTracer  # type: ignore[attr-defined]
    from opentelemetry.metrics import NoOpMeterProvider

    # Connection-pool usage is reported by our own metrics; give the tracer a no-op counter.
    usage = NoOpMeterProvider().get_meter(__name__).create_up_down_counter("db.client.connections.usage")
    EngineTracer(tracer("opentelemetry.instrumentation.sqlalchemy"), sync_engine, usage)  # type: ignore[no-untyped-call]
    sync_engine._autovideo_traced = True  # type: ignore[attr-defined]


def inject_traceparent() -> dict[str, str]:
    """The current trace context as W3C headers (empty when nothing is being traced)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(carrier: dict[str, str] | None) -> Any:
    return propagate.extract(carrier or {})


# ------------------------------------------------------------------ metrics


def metric(kind: type[M], name: str, documentation: str, labels: Sequence[str], **kw: Any) -> M:
    """A collector registered once per process, even if its module is imported twice."""
    found = getattr(REGISTRY, "_names_to_collectors", {}).get(name)
    if found is not None:
        return found  # type: ignore[no-any-return]
    return kind(name, documentation, labels, **kw)  # type: ignore[call-arg]


HTTP_REQUESTS = metric(
    Counter, "autovideo_http_requests_total", "HTTP requests by route template", ["method", "route", "status"]
)
HTTP_SECONDS = metric(
    Histogram,
    "autovideo_http_request_duration_seconds",
    "HTTP request duration until the response is complete",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

UNMATCHED = "<unmatched>"


def route_template(routes: Iterable[BaseRoute], scope: Scope) -> str:
    """The path template a request matches ("/media/{key:path}"), never the raw path, so label
    values and span names stay few."""
    from starlette.routing import Match

    for route in routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            return str(getattr(route, "path", UNMATCHED))
    return UNMATCHED


class HttpMetrics:
    """ASGI middleware counting HTTP requests (websockets are long-lived: not counted here)."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        route = route_template(self.routes, scope)
        status = 500  # what the client gets when the app raises before answering
        start = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - start)


def tracing_middleware(routes: Sequence[BaseRoute]) -> Any:
    """Starlette Middleware entry for ASGI spans, or None while tracing is off."""
    if _state.provider is None:
        return None
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from starlette.middleware import Middleware

    def span_details(scope: Scope) -> tuple[str, dict[str, str]]:
        route = route_template(routes, scope)
        name = f"{scope['method']} {route}" if scope["type"] == "http" else f"WS {route}"
        return name, {"http.route": route}

    # Matched against scheme://host/path (no query string).
    excluded = ",".join(f"://[^/]*{p}$" for p in UNTRACED_PATHS)
    return Middleware(
        OpenTelemetryMiddleware,
        excluded_urls=excluded,
        default_span_details=span_details,
        tracer_provider=_state.provider,
        exclude_spans=["receive", "send"],  # a span per ASGI message is noise
    )


# ------------------------------------------------------------------ queue depth


class QueueDepth(Collector):
    """`autovideo_queue_depth`: jobs in the ARQ queue (waiting and deferred), read at scrape time.

    Scrapes run in a thread (the API's /metrics handler, the worker's metrics server), so this
    uses a small synchronous Redis client of its own."""

    def __init__(self) -> None:
        self.target: tuple[str, str] | None = None
        self.client: Any = None

    def watch(self, redis_url: str, queue_name: str) -> None:
        self.close()
        self.target = (redis_url, queue_name)

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
        self.client, self.target = None, None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("autovideo_queue_depth", "Jobs waiting in the ARQ queue")
        target = self.target
        if target is not None:
            try:
                if self.client is None:
                    import redis

                    self.client = redis.Redis.from_url(target[0], socket_timeout=1, socket_connect_timeout=1)
                family.add_metric([], float(self.client.zcard(target[1])))
            except Exception as exc:  # an unreachable Redis must not break the scrape
                log.debug("queue depth unavailable: %s", exc)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without describe(), registering would call collect() (and reach Redis) at import.
        yield GaugeMetricFamily("autovideo_queue_depth", "Jobs waiting in the ARQ queue")


def _queue_depth() -> QueueDepth:
    found = getattr(REGISTRY, "_names_to_collectors", {}).get("autovideo_queue_depth")
    if found is not None:
        return found  # type: ignore[no-any-return]
    collector = QueueDepth()
    REGISTRY.register(collector)
    return collector


QUEUE_DEPTH = _queue_depth()


def observe_resources(resources: Resources) -> None:
    """Hook a runtime's resources into telemetry: DB spans and the queue-depth gauge."""
    instrument_engine(resources.engine)
    QUEUE_DEPTH.watch(resources.redis_url, resources.queue_name)

    async def stop_watching() -> None:
        if QUEUE_DEPTH.target == (resources.redis_url, resources.queue_name):
            QUEUE_DEPTH.close()

    resources.closers.append(stop_watching)
