from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.social.fake_youtube import FakeYouTube, start_fake


@pytest.fixture
async def fake_youtube() -> AsyncIterator[FakeYouTube]:
    fake, runner = await start_fake()
    yield fake
    await runner.cleanup()
