from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ai_ext_fakes import FakeServer, start_server


@pytest.fixture(scope="session")
def _fake_server_session() -> Iterator[FakeServer]:
    fake, stop = start_server()
    yield fake
    stop()


@pytest.fixture
def fake(_fake_server_session: FakeServer) -> Iterator[FakeServer]:
    _fake_server_session.reset()
    yield _fake_server_session
    _fake_server_session.reset()
