#!/usr/bin/env python
"""Hand-written baselines for bench/api: what the same machine serves without GraphQL.

raw PORT    POST /graphql: checks the bearer token (PyJWT, same key and claims), runs the page's
            SQL (20 newest videos joined with their owner) through asyncpg and writes the same JSON
            the API answers for bench/api's page query.
hello PORT  GET / answers {"hello": "world"}.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator

import uvicorn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PAGE_SQL = (
    "SELECT v.id, v.title, v.status, v.duration, v.created_at, v.processing_progress, u.username"
    " FROM videos v JOIN users u ON u.id = v.user_id WHERE v.user_id = $1"
    " ORDER BY v.created_at DESC, v.id DESC LIMIT 21"
)


def gid(type_name: str, raw: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{raw}".encode()).decode().rstrip("=")


def raw_app() -> Starlette:
    import asyncpg
    import jwt
    from sqlalchemy.engine import make_url

    from domain.tokens import AUDIENCE, ISSUER

    u = make_url(os.environ["BENCH_DATABASE_URL"])
    secret = os.environ["AUTOVIDEO_SECRET_KEY"]
    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(
            user=u.username or "postgres",
            host=u.host,
            port=u.port or 5432,
            database=u.database,
            min_size=10,
            max_size=10,
        )
        yield
        await state["pool"].close()

    async def page(request: Request) -> Response:
        await request.json()
        token = request.headers["authorization"].partition(" ")[2]
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
        async with state["pool"].acquire() as conn:
            rows = await conn.fetch(PAGE_SQL, __import__("uuid").UUID(claims["sub"]))
        edges = [
            {
                "node": {
                    "id": gid("Video", r["id"]),
                    "title": r["title"],
                    "status": r["status"].upper(),
                    "duration": r["duration"],
                    "createdAt": r["created_at"].isoformat(),
                    "processingProgress": r["processing_progress"],
                    "owner": {"username": r["username"]},
                }
            }
            for r in rows[:20]
        ]
        return Response(json.dumps({"data": {"videos": {"edges": edges}}}), media_type="application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[Route("/graphql", page, methods=["POST"]), Route("/healthz", healthz)], lifespan=lifespan
    )


def hello_app() -> Starlette:
    async def hello(request: Request) -> Response:
        return JSONResponse({"hello": "world"})

    return Starlette(routes=[Route("/", hello)])


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    app = raw_app() if kind == "raw" else hello_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
