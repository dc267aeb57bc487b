"""The whole pipeline with storage_backend="s3": the finished video lives in the bucket and
fileUrl (a presigned GET) downloads it."""

from __future__ import annotations

import httpx
import pytest

from persistence.enums import VideoStatus
from persistence.video import VideoRepository
from runtime.bootstrap import make_storage
from runtime.events import start_events
from runtime.resources import build_resources
from schema.node import from_global_id
from tests.factories import make_user, principal_for
from tests.gql import execute
from tests.pipeline.conftest import drain
from tests.storage.conftest import PresignedS3Transport, s3_settings

CREATE = """mutation($input: CreateVideoInput!) { createVideo(input: $input) { id } }"""


@pytest.mark.slow
async def test_video_completes_on_s3_and_file_url_downloads(
    tmp_path, e2e_database, services, redis_prefix, redis_client, s3_endpoint
):
    from providers.storage.s3 import S3Storage

    settings = s3_settings(
        s3_endpoint,
        tmp_path / "data",
        database_url=e2e_database,
        redis_url=services[1],
        redis_prefix=redis_prefix,
        render_preset="ultrafast",
    )
    bucket_maker = S3Storage(settings, create_bucket=True)
    assert not await bucket_maker.exists("x")  # the first call creates the bucket
    await bucket_maker.aclose()
    res = await build_resources(settings)
    storage = make_storage(settings)
    assert isinstance(storage, S3Storage)
    res.storage = storage
    res.closers.append(storage.aclose)
    await start_events(res)
    try:
        async with res.sessionmaker() as s, s.begin():
            owner = await make_user(s)
        script = "Bees dance to tell each other where flowers are. The waggle points the way home and back."
        r = await execute(
            res,
            CREATE,
            {
                "input": {
                    "title": "Bees",
                    "prompt": "bees",
                    "script": script,
                    "aspectRatio": "SQUARE",
                    "targetDurationSeconds": 10,
                }
            },
            principal_for(owner),
        )
        assert r.errors is None, r.errors
        gid = r.data["createVideo"]["id"]
        await drain(res)
        async with res.sessionmaker() as s:
            video = await VideoRepository(s).get(from_global_id(gid)[1])
        assert video is not None and video.status is VideoStatus.COMPLETED, video and video.processing_error
        assert await storage.size(video.file_key or "") == video.file_size

        r = await execute(
            res,
            "query($id: ID!) { video(id: $id) { fileUrl thumbnailUrl } }",
            {"id": gid},
            principal_for(owner),
        )
        assert r.errors is None, r.errors
        url = r.data["video"]["fileUrl"]
        assert (
            url.startswith(s3_endpoint + "/" + settings.s3_bucket + "/videos/") and "X-Amz-Signature" in url
        )
        async with httpx.AsyncClient(transport=PresignedS3Transport("testing")) as client:
            body = (await client.get(url)).content
        assert body[4:8] == b"ftyp" and len(body) == video.file_size
    finally:
        await res.close()
