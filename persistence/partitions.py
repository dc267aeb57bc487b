"""Monthly partitions of video_statistics_daily, created ahead of need."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

PARENT = "video_statistics_daily"


def _month_start(d: date, offset: int = 0) -> date:
    month = d.month - 1 + offset
    return date(d.year + month // 12, month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_{month:%Y_%m}"


async def ensure_month_partitions(conn: AsyncConnection, around: date, months_ahead: int = 2) -> list[str]:
    """Create the partitions for the month of `around` and the next few; idempotent. One creator
    at a time (the lock ends with the caller's transaction)."""
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('video_statistics_daily:partitions'))"))
    made = []
    for offset in range(0, months_ahead + 1):
        start, end = _month_start(around, offset), _month_start(around, offset + 1)
        name = partition_name(start)
        exists = await conn.scalar(text("SELECT to_regclass(:n)"), {"n": name})
        if exists:
            continue
        # A DEFAULT partition may hold rows of this range already; move them in one transaction.
        await conn.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
        await conn.execute(
            text(
                f"WITH moved AS (DELETE FROM {PARENT}_default WHERE date >= :s AND date < :e RETURNING *) "
                f"INSERT INTO {name} SELECT * FROM moved"
            ),
            {"s": start, "e": end},
        )
        await conn.execute(
            text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ('{start}') TO ('{end}')")
        )
        made.append(name)
    return made
