"""What only the S3 backend does: bucket creation opt-in, ping failures, batched deletes, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.storage.base import StorageError
from providers.storage.s3 import S3Storage
from tests.storage.conftest import s3_settings


async def test_missing_bucket_is_created_only_when_allowed(s3_endpoint: str, tmp_path: Path) -> None:
    settings = s3_settings(s3_endpoint, tmp_path)
    plain = S3Storage(settings)
    try:
        with pytest.raises(StorageError, match="not reachable"):
            await plain.ping()
        with pytest.raises(StorageError):
            await plain.put_bytes("a", b"x", "text/plain")
    finally:
        await plain.aclose()
    creating = S3Storage(settings, create_bucket=True)
    try:
        await creating.put_bytes("a", b"x", "text/plain")
        await creating.ping()
    finally:
        await creating.aclose()
    again = S3Storage(settings)  # the bucket exists now: no permission needed
    try:
        assert await again.get_bytes("a") == b"x"
    finally:
        await again.aclose()


async def test_delete_prefix_pages_and_batches(s3_storage: S3Storage) -> None:
    """Small pages and batches (1000 each in production) so several of both are needed."""
    import asyncio

    s3_storage.list_page_size, s3_storage.delete_batch = 10, 7
    keys = [f"videos/many/{i:03d}" for i in range(45)]
    await asyncio.gather(*(s3_storage.put_bytes(k, b"", "application/octet-stream") for k in keys))
    await s3_storage.put_bytes("videos/many-not/x", b"", "application/octet-stream")
    calls: list[int] = []
    client = await s3_storage._client()
    original = client.delete_objects

    async def spy(**kw):
        calls.append(len(kw["Delete"]["Objects"]))
        return await original(**kw)

    client.delete_objects = spy
    try:
        assert await s3_storage.delete_prefix("videos/many") == len(keys)
    finally:
        client.delete_objects = original
    assert max(calls) <= 7 and sum(calls) == 45 and len(calls) >= 7
    assert not any([await s3_storage.exists(k) for k in keys])
    assert await s3_storage.exists("videos/many-not/x")


def test_bucket_setting_is_required(tmp_path: Path) -> None:
    from runtime.settings import Settings

    settings = Settings(environment="test", data_dir=tmp_path, storage_backend="s3", _env_file=None)
    with pytest.raises(StorageError, match="AUTOVIDEO_S3_BUCKET"):
        S3Storage(settings)


def test_make_storage_picks_s3(s3_endpoint: str, tmp_path: Path) -> None:
    from runtime.bootstrap import make_storage

    assert isinstance(make_storage(s3_settings(s3_endpoint, tmp_path)), S3Storage)
