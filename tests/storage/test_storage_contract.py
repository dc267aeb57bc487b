"""One contract, two backends: LocalStorage (files + signed /media URLs served by the app) and
S3Storage (a real S3 endpoint, moto's server, and presigned URLs)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from providers.storage.base import StorageError


@dataclass
class Backend:
    name: str
    storage: Any
    fetch: Callable[[str], Awaitable[httpx.Response]]


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "local":
        from app import create_app
        from providers.storage.local import LocalStorage
        from runtime.settings import Settings

        settings = Settings(
            environment="test", data_dir=tmp_path / "data", secret_key="l" * 40, _env_file=None
        )
        storage = LocalStorage(tmp_path / "media", settings.public_base_url, settings.signing_secret)
        app = create_app(settings, run_worker=False)
        app.state.runtime_state["resources"] = SimpleNamespace(storage=storage)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            yield Backend("local", storage, client.get)
    else:
        from providers.storage.s3 import S3Storage
        from tests.storage.conftest import PresignedS3Transport, s3_settings

        endpoint = request.getfixturevalue("s3_endpoint")
        s3 = S3Storage(
            s3_settings(endpoint, tmp_path / "data"),
            create_bucket=True,
            multipart_threshold=5 * 1024 * 1024,
            multipart_chunk=5 * 1024 * 1024,
        )
        try:
            transport = PresignedS3Transport("testing")
            async with httpx.AsyncClient(transport=transport) as client:
                yield Backend("s3", s3, client.get)
        finally:
            await s3.aclose()


async def test_round_trip_bytes_and_files(backend: Backend, tmp_path: Path) -> None:
    st = backend.storage
    data = os.urandom(70_000)
    assert await st.put_bytes("videos/a/v1/scene.png", data, "image/png") == len(data)
    assert await st.get_bytes("videos/a/v1/scene.png") == data

    src = tmp_path / "in.bin"
    src.write_bytes(data[::-1])
    assert await st.put_file("videos/a/v1/video.mp4", src, "video/mp4") == len(data)
    dest = await st.get_to_path("videos/a/v1/video.mp4", tmp_path / "out.bin")
    assert dest.read_bytes() == data[::-1]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temp files left behind


async def test_big_file_goes_up_whole(backend: Backend, tmp_path: Path) -> None:
    """Above the S3 multipart threshold (5 MiB in these tests): parts are reassembled in order."""
    src = tmp_path / "big.bin"
    chunk = os.urandom(1024 * 1024)
    src.write_bytes(b"".join(bytes([i]) + chunk[1:] for i in range(11)))  # 11 MiB, each MiB distinct
    assert await backend.storage.put_file("videos/b/video.mp4", src, "video/mp4") == src.stat().st_size
    out = await backend.storage.get_to_path("videos/b/video.mp4", tmp_path / "big.out")
    assert out.read_bytes() == src.read_bytes()
    assert await backend.storage.size("videos/b/video.mp4") == 11 * 1024 * 1024


async def test_overwrite_is_atomic_for_readers(backend: Backend) -> None:
    st = backend.storage
    old, new = b"o" * 2_000_000, b"n" * 2_500_000
    await st.put_bytes("k/obj", old, "application/octet-stream")
    seen: list[bytes] = []

    async def read_loop() -> None:
        for _ in range(15):
            seen.append(await st.get_bytes("k/obj"))

    await asyncio.gather(read_loop(), st.put_bytes("k/obj", new, "application/octet-stream"), read_loop())
    assert seen and all(b in (old, new) for b in seen)  # never a mix or a truncated object
    assert await st.get_bytes("k/obj") == new
    assert await st.size("k/obj") == len(new)


async def test_exists_size_and_missing_keys(backend: Backend, tmp_path: Path) -> None:
    st = backend.storage
    assert await st.exists("nope/x") is False
    assert await st.size("nope/x") is None
    with pytest.raises(StorageError):
        await st.get_bytes("nope/x")
    with pytest.raises(StorageError):
        await st.get_to_path("nope/x", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    await st.put_bytes("yes/x", b"12345", "text/plain")
    assert await st.exists("yes/x") is True and await st.size("yes/x") == 5
    with pytest.raises(StorageError):
        await st.put_bytes("../escape", b"x", "text/plain")


async def test_delete_prefix_removes_the_subtree_only(backend: Backend) -> None:
    st = backend.storage
    keys = [f"videos/v1/run{i}/part{j}.bin" for i in range(3) for j in range(4)] + ["videos/v1/video.mp4"]
    for k in keys:
        await st.put_bytes(k, b"x", "application/octet-stream")
    await st.put_bytes("videos/v10/keep.bin", b"k", "application/octet-stream")  # shares the string prefix
    await st.put_bytes("videos/other/keep.bin", b"k", "application/octet-stream")

    assert await st.delete_prefix("videos/v1") == len(keys)
    assert not any([await st.exists(k) for k in keys])
    assert await st.exists("videos/v10/keep.bin") and await st.exists("videos/other/keep.bin")
    assert await st.delete_prefix("videos/v1") == 0
    assert await st.delete_prefix("videos/other/keep.bin") == 1  # a single object by its key


async def test_url_downloads_with_filename_and_expires(backend: Backend) -> None:
    st = backend.storage
    await st.put_bytes("videos/u/video.mp4", b"movie-bytes", "video/mp4")
    resp = await backend.fetch(await st.url("videos/u/video.mp4", filename="My vidéo.mp4"))
    assert resp.status_code == 200 and resp.content == b"movie-bytes"
    disposition = resp.headers.get("content-disposition", "")
    assert "attachment" in disposition and "My%20vid%C3%A9o.mp4" in disposition

    short = await st.url("videos/u/video.mp4", expires_in=1)
    assert (await backend.fetch(short)).status_code == 200
    await asyncio.sleep(2.2)
    assert (await backend.fetch(short)).status_code == 403
    tampered = (await st.url("videos/u/video.mp4")).replace("videos/u/video.mp4", "videos/u/other.mp4")
    assert (await backend.fetch(tampered)).status_code == 403


async def test_ping(backend: Backend) -> None:
    await backend.storage.ping()
