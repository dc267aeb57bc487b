"""Apply, check and roll back migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _with_connection(url: str, fn) -> None:  # type: ignore[no-untyped-def]
    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(lambda sync_conn: fn(sync_conn))
        finally:
            await engine.dispose()

    asyncio.run(run())


def upgrade(url: str, revision: str = "head") -> None:
    def go(conn) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    _with_connection(url, go)
    _ensure_partitions(url)


def downgrade(url: str, revision: str = "base") -> None:
    def go(conn) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)

    _with_connection(url, go)


def check(url: str) -> None:
    """Raise when the models and the migrations disagree."""

    def go(conn) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.check(cfg)

    _with_connection(url, go)


def _ensure_partitions(url: str) -> None:
    from persistence.partitions import ensure_month_partitions

    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await ensure_month_partitions(conn, datetime.now(UTC).date())
        finally:
            await engine.dispose()

    asyncio.run(run())
