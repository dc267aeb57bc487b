"""The ASGI application: GraphQL at /graphql, health at /healthz and /readyz, media at /media,
the Studio (web/'s build, when there is one) at /."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from runtime.request_id import RequestIdMiddleware
from runtime.security_headers import SecurityHeaders
from runtime.settings import Settings, load_settings

if TYPE_CHECKING:
    from runtime.resources import Resources

log = logging.getLogger("autovideo")

# Media is never a page: nothing in it runs, loads or frames anything.
MEDIA_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


def create_app(
    settings: Settings | None = None,
    *,
    run_worker: bool = True,
    migrate: bool | None = None,
    runtime: Any = None,
) -> Starlette:
    """Build the app. Resources (engine, Redis, ARQ pool, broadcaster, storage, worker) are made
    once in the lifespan; `migrate` defaults to True when the database is embedded. A caller that
    started the runtime itself (the CLI, to report bad configuration in one line) passes it in
    and stays responsible for stopping it."""
    settings = settings or load_settings()
    from runtime import telemetry

    # Here and not only in start_runtime: the middleware below needs the tracer provider now.
    telemetry.setup_telemetry(settings)
    state: dict[str, Any] = {}

    def resources() -> Resources:
        resources: Resources = state["resources"]
        return resources

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from runtime.bootstrap import start_runtime

        owned = runtime is None
        current = runtime or await start_runtime(settings, run_worker=run_worker, migrate=migrate)
        state["resources"] = current.resources
        state["runtime"] = current
        try:
            yield
        finally:
            if owned:
                await current.stop()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        from runtime.health import readiness

        checks = await readiness(resources())
        ok = all(c["ok"] for c in checks.values())
        from domain.availability import RETRY_AFTER_SECONDS

        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
            headers=None if ok else {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def media(request: Request) -> Response:
        """Local storage downloads: only with a valid, unexpired signature from a URL we issued.
        The content type comes from the key; `filename` (covered by the signature) only names
        the download."""
        from providers.storage.local import OPAQUE, LocalStorage, media_type, verify

        storage = resources().storage
        if not isinstance(storage, LocalStorage):
            return PlainTextResponse("Not found", status_code=404)
        key = request.path_params["key"]
        try:
            expires = int(request.query_params.get("exp", "0"))
        except ValueError:
            expires = 0
        filename = request.query_params.get("filename") or None
        if not verify(storage.secret, key, expires, request.query_params.get("sig", ""), filename=filename):
            return PlainTextResponse("This link is invalid or has expired.", status_code=403)
        try:
            path = storage.path_of(key)
        except Exception:
            return PlainTextResponse("Not found", status_code=404)
        if not await asyncio.to_thread(path.is_file):
            return PlainTextResponse("Not found", status_code=404)
        kind = media_type(key)
        headers = {"Cache-Control": "private, max-age=3600", "Content-Security-Policy": MEDIA_CSP}
        if kind == OPAQUE and not filename:
            headers["Content-Disposition"] = "attachment"
        return FileResponse(path, media_type=kind, filename=filename, headers=headers)

    async def metrics(request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        # In a thread: the queue-depth collector asks Redis synchronously.
        return Response(await asyncio.to_thread(generate_latest), media_type=CONTENT_TYPE_LATEST)

    from graphql_runtime.view import GraphQLView
    from resolvers.root import build_schema
    from runtime.studio import studio_routes, with_local_graphiql

    graphql_schema = build_schema(
        settings.max_query_depth,
        settings.max_query_tokens,
        settings.max_query_aliases,
        introspection=bool(settings.introspection),
    )
    graphql = with_local_graphiql(GraphQLView, settings)(
        resources,
        graphql_schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        # Voice samples arrive as GraphQL multipart uploads. Auth is a bearer header, never a
        # cookie, so a cross-site form cannot post one on a user's behalf.
        multipart_uploads_enabled=True,
        allowed_origins=settings.cors_origins or (),
    )
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/media/{key:path}", media, methods=["GET", "HEAD"]),
        *studio_routes(settings),  # last: the Studio's files, else its page (SPA fallback)
    ]
    # Outermost first: the client address is settled before anything reads it, the request id
    # is in every log line, the request span covers everything, the metrics see CORS answers too.
    middleware = []
    if settings.trusted_proxies:  # else the client address is the socket's peer, whatever it sends
        middleware.append(Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies))
    middleware += [
        Middleware(RequestIdMiddleware),
        Middleware(SecurityHeaders, https=settings.public_base_url.startswith("https://")),
    ]
    middleware += [m for m in [telemetry.tracing_middleware(routes)] if m is not None]
    middleware.append(Middleware(telemetry.HttpMetrics, routes=routes))
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "X-Api-Key"],
            )
        )
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.runtime_state = state
    app.state.graphql_schema = graphql_schema
    return app
