"""The real app in-process (lifespan included) on a database of its own, with settings a test
chooses: `async with app_client(trusted_proxies=[...]) as client: ...`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest


@pytest.fixture
def app_client(settings, e2e_database) -> Callable[..., Any]:
    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        from app import create_app
        from runtime.settings import Settings

        values = {**settings.model_dump(exclude_unset=True), "database_url": e2e_database, **overrides}
        app = create_app(Settings(**values, _env_file=None), run_worker=False, migrate=False)
        transport = httpx.ASGITransport(app=app)  # the peer is 127.0.0.1
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test") as client,
        ):
            client.app = app  # type: ignore[attr-defined]
            yield client

    return start
