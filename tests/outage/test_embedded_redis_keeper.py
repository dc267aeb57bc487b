"""The embedded Redis is supervised: killed, it comes back on the same socket with its data,
and clients made before the kill carry on."""

from __future__ import annotations

import time

import psutil
import redis

from runtime.embedded import EmbeddedServices


def wait_for(predicate, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_killed_embedded_redis_is_restarted_with_its_data(tmp_path):
    with EmbeddedServices(tmp_path / "data", redis_restart_delay=0.1).start(
        postgres=False, redis=True
    ) as svc:
        assert svc.redis_url is not None
        socket = svc.redis_url.removeprefix("unix://")
        client = redis.Redis(unix_socket_path=socket)
        client.set("kept", "across the crash")
        first = svc._redis.pid
        psutil.Process(first).kill()
        wait_for(lambda: svc.redis_restarts == 1)
        assert svc._redis.pid not in (0, first)
        assert svc.redis_url == f"unix://{socket}"  # same socket: nobody needs a new address
        value = None
        for _ in range(3):  # the first command on the old connection may see it closed
            try:
                value = client.get("kept")
                break
            except redis.ConnectionError:
                continue
        assert value == b"across the crash"
        info = client.info("server")
        assert isinstance(info, dict)  # redis-py types a reply `Awaitable | Any`; a sync client's is a dict
        assert info["redis_version"].startswith("6.2")
        client.close()
        second = svc._redis.pid
        keeper = svc._keeper
    # A deliberate stop is not a crash: the keeper is stopped first, then the server.
    assert keeper is not None and not keeper.is_alive()
    wait_for(lambda: not psutil.pid_exists(second) or psutil.Process(second).status() == psutil.STATUS_ZOMBIE)
    assert svc.redis_restarts == 1
