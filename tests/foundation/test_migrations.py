import asyncio

from runtime import migrate
from tests.conftest import PREFIX, _recreate_database
from tests.services import database_url


def test_models_and_migrations_agree(migrated_url):
    migrate.check(migrated_url)  # raises when autogenerate would produce anything


def test_downgrade_to_base_and_upgrade_to_head(services):
    admin, _ = services
    name = f"{PREFIX}_migr"
    asyncio.run(_recreate_database(admin, name))
    url = database_url(admin, name)
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    migrate.upgrade(url)
    migrate.check(url)


async def test_monthly_partitions_exist_and_default_catches_the_rest(connection):
    from sqlalchemy import text

    names = set(
        (
            await connection.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'video_statistics_daily'"
                )
            )
        ).scalars()
    )
    assert "video_statistics_daily_default" in names
    assert len(names) >= 4  # default + this month + two ahead
