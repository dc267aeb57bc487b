"""Alembic environment, async (asyncpg), driven by `autovideo migrate` or `alembic`."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from persistence import metadata
from persistence.partitions import PARENT as STATS_PARENT

config = context.config


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # Monthly partitions of the daily statistics table are made at run time, not by models.
    partition = type_ == "table" and reflected and compare_to is None
    return not (partition and str(name).startswith(f"{STATS_PARENT}_"))


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        compare_type=True,
        compare_server_default=False,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from runtime.settings import load_settings

        url = load_settings().database_url
    if not url:
        raise SystemExit(
            "set AUTOVIDEO_DATABASE_URL (or use `autovideo migrate`, which starts the embedded one)"
        )
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
