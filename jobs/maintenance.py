"""Small maintenance jobs."""

from __future__ import annotations

from typing import Any


async def ping(ctx: dict[str, Any]) -> str:
    """Lets operators check a worker end to end (`enqueue_job("ping")`)."""
    return "pong"
