"""The platform statistics refresh (a cron, twice an hour): domain.analytics does the work."""

from __future__ import annotations

from typing import Any

from domain import analytics


async def refresh_statistics(ctx: dict[str, Any]) -> int:
    return await analytics.refresh_statistics(ctx["resources"])
