"""Connecting a platform and publishing through the schema, with the worker (drain) and a fake YouTube."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import crypto
from jobs.publishing import enqueue_publication, publish_due, publish_job_id
from persistence.enums import PublicationStatus, Role, VideoStatus
from persistence.publishing import PlatformConnection, Publication, PublishingRepository
from persistence.video import VideoRepository
from providers.social.youtube import YouTubeAdapter
from schema.node import from_global_id, to_global_id
from tests.factories import make_user, make_video, principal_for
from tests.gql import codes, execute
from tests.pipeline.conftest import drain, live_resources  # noqa: F401 - the fixture
from tests.social.fake_youtube import FakeYouTube

CONNECT = """mutation($t: String!) { connectPlatform(platform: "YouTube", accessToken: $t,
  refreshToken: "r-secret",
  accountId: "UC123", accountName: "My channel", expiresAt: "2031-01-01T00:00:00+00:00") {
  id platform accountId accountName tokenExpiresAt } }"""
PUBLISH = """mutation($input: PublishVideoInput!) { publishVideo(input: $input) {
  id status platform scheduledAt externalId errorMessage video { id } } }"""
READ = """query($id: ID!) { video(id: $id) { publishedAt
  publications { status externalId externalUrl errorMessage } } }"""
LIST = """query($id: ID!) { publications(videoId: $id) { id status } }"""
PREMIUM = (Role.PREMIUM,)


@pytest.fixture
async def world(live_resources, fake_youtube: FakeYouTube):  # noqa: F811
    res = live_resources
    res.social_adapters = {"youtube": YouTubeAdapter(fake_youtube.url, timeout=10)}
    async with res.sessionmaker() as s, s.begin():
        owner = await make_user(s, roles=PREMIUM)
        video = await make_video(
            s, owner, status=VideoStatus.COMPLETED, file_key="videos/x/v1/video.mp4", tags=["tea"]
        )
    await res.storage.put_bytes(video.file_key, b"\x00\x00\x00\x18ftypmp42" + b"m" * 50_000, "video/mp4")
    return res, owner, video, fake_youtube


async def connect(res, owner, token: str = "good-token") -> None:
    r = await execute(res, CONNECT, {"t": token}, principal_for(owner, PREMIUM))
    assert r.errors is None, r.errors


async def publications(res, video_id) -> list[Publication]:
    async with res.sessionmaker() as s:
        return await PublishingRepository(s).publications_of_video(video_id)


async def test_publish_now_uploads_once_and_marks_published(world) -> None:
    res, owner, video, fake = world
    me = principal_for(owner, PREMIUM)
    r = await execute(res, CONNECT, {"t": "good-token"}, me)
    assert r.errors is None, r.errors
    assert (
        r.data["connectPlatform"]["platform"] == "youtube"
        and r.data["connectPlatform"]["accountId"] == "UC123"
    )
    async with res.sessionmaker() as s:
        row = (await PublishingRepository(s).connections(owner.id))[0]
    assert b"good-token" not in row.access_token_encrypted  # encrypted at rest
    assert crypto.decrypt(res.settings, row.access_token_encrypted) == "good-token"
    assert crypto.decrypt(res.settings, row.refresh_token_encrypted or b"") == "r-secret"

    gid = str(to_global_id("Video", video.id))
    r = await execute(
        res,
        PUBLISH,
        {"input": {"videoId": gid, "platform": "youtube", "scheduledAt": "2001-01-01T00:00:00+00:00"}},
        me,
    )
    assert r.errors is None, r.errors
    pub = r.data["publishVideo"]
    assert pub["status"] == "SCHEDULED" and pub["video"]["id"] == gid
    assert datetime.fromisoformat(pub["scheduledAt"]) > datetime.now(UTC) - timedelta(minutes=1)  # past → now
    await drain(res)

    r = await execute(res, READ, {"id": gid}, me)
    assert r.errors is None, r.errors
    [published] = r.data["video"]["publications"]
    assert published["status"] == "PUBLISHED" and published["errorMessage"] is None
    assert published["externalUrl"] == f"https://www.youtube.com/watch?v={published['externalId']}"
    assert r.data["video"]["publishedAt"] is not None
    r = await execute(res, LIST, {"id": gid}, me)
    assert r.data["publications"] == [{"id": pub["id"], "status": "PUBLISHED"}]
    uploaded = fake.videos[published["externalId"]]
    assert bytes(uploaded.data) == await res.storage.get_bytes(video.file_key)
    assert (
        uploaded.metadata["snippet"]["title"] == video.title and "tea" in uploaded.metadata["snippet"]["tags"]
    )

    # Idempotent: the job again (a duplicate or a cron re-enqueue) uploads nothing.
    _, pid = from_global_id(pub["id"])
    assert await enqueue_publication(res, pid, suffix=":again")
    await drain(res)
    assert len(fake.videos) == 1
    # And the same video cannot be published to the same platform twice.
    r = await execute(res, PUBLISH, {"input": {"videoId": gid, "platform": "youtube"}}, me)
    assert codes(r) == ["CONFLICT"]


async def test_refusals_leave_nothing_behind(world) -> None:
    res, owner, video, _ = world
    me = principal_for(owner, PREMIUM)
    gid = str(to_global_id("Video", video.id))
    async with res.sessionmaker() as s, s.begin():
        other = await make_user(s, roles=PREMIUM)
        others_video = await make_video(s, other, status=VideoStatus.COMPLETED, file_key="k")
        pending = await make_video(s, owner, status=VideoStatus.PROCESSING)

    def inp(v: str = gid, platform: str = "youtube") -> dict[str, object]:
        return {"input": {"videoId": v, "platform": platform}}

    r = await execute(res, PUBLISH, inp())
    assert codes(r) == ["UNAUTHENTICATED"]
    r = await execute(res, PUBLISH, inp(), principal_for(owner, (Role.CREATOR,)))
    assert codes(r) == ["FORBIDDEN"]
    r = await execute(res, PUBLISH, inp(), me)  # no connection yet
    assert codes(r) == ["BAD_USER_INPUT"] and "youtube" in r.errors[0].message
    assert r.errors[0].extensions["field"] == "platform"
    await connect(res, owner)
    r = await execute(res, PUBLISH, inp(str(to_global_id("Video", others_video.id))), me)
    assert codes(r) == ["NOT_FOUND"]
    r = await execute(res, PUBLISH, inp(str(to_global_id("Video", pending.id))), me)
    assert codes(r) == ["CONFLICT"]
    r = await execute(res, PUBLISH, inp(platform="myspace"), me)
    assert codes(r) == ["BAD_USER_INPUT"]
    r = await execute(res, PUBLISH, inp(platform="tiktok"), me)  # known, but no adapter here
    assert codes(r) == ["BAD_USER_INPUT"]
    for bad in ({"t": ""},):
        r = await execute(res, CONNECT, bad, me)
        assert codes(r) == ["BAD_USER_INPUT"]
    r = await execute(res, LIST, {"id": str(to_global_id("Video", others_video.id))}, me)
    assert codes(r) == ["NOT_FOUND"]  # another user's publications are not revealed

    assert await publications(res, video.id) == [] and await publications(res, pending.id) == []
    assert await res.arq.queued_jobs(queue_name=res.queue_name) == []


async def test_expired_token_fails_with_a_reconnect_message(world) -> None:
    res, owner, video, fake = world
    await connect(res, owner, token="expired-token")
    r = await execute(
        res,
        PUBLISH,
        {"input": {"videoId": str(to_global_id("Video", video.id)), "platform": "youtube"}},
        principal_for(owner, PREMIUM),
    )
    assert r.errors is None, r.errors
    await drain(res)
    [pub] = await publications(res, video.id)
    assert pub.status is PublicationStatus.FAILED and pub.attempts == 1
    assert pub.error_message and "Reconnect your YouTube account" in pub.error_message
    assert fake.videos == {}
    async with res.sessionmaker() as s:
        assert (await VideoRepository(s).get(video.id)).published_at is None  # type: ignore[union-attr]


async def test_transient_errors_retry_then_publish(world) -> None:
    res, owner, video, fake = world
    await connect(res, owner)
    fake.fail_start = [503]
    r = await execute(
        res,
        PUBLISH,
        {"input": {"videoId": str(to_global_id("Video", video.id)), "platform": "youtube"}},
        principal_for(owner, PREMIUM),
    )
    assert r.errors is None, r.errors
    await drain(res)
    [pub] = await publications(res, video.id)
    assert pub.status is PublicationStatus.PUBLISHED and pub.attempts == 2 and pub.error_message is None
    assert fake.requests.count("POST") == 2 and len(fake.videos) == 1


async def test_scheduled_later_and_the_cron_picks_up_lost_jobs(world) -> None:
    from arq.jobs import Job, JobStatus

    res, owner, video, fake = world
    await connect(res, owner)
    later = datetime.now(UTC) + timedelta(hours=2)
    r = await execute(
        res,
        PUBLISH,
        {
            "input": {
                "videoId": str(to_global_id("Video", video.id)),
                "platform": "youtube",
                "scheduledAt": later.isoformat(),
            }
        },
        principal_for(owner, PREMIUM),
    )
    assert r.errors is None, r.errors
    _, pid = from_global_id(r.data["publishVideo"]["id"])
    assert abs(datetime.fromisoformat(r.data["publishVideo"]["scheduledAt"]) - later) < timedelta(seconds=1)
    job = Job(publish_job_id(pid), res.arq, _queue_name=res.queue_name)
    assert await job.status() is JobStatus.deferred
    assert await publish_due({"resources": res}) == 0  # not due yet

    # Its time has come but the job was lost: the cron enqueues it again.
    await res.arq.zrem(res.queue_name, publish_job_id(pid))  # out of the queue; its record stays
    async with res.sessionmaker() as s, s.begin():
        row = await s.get(Publication, pid)
        assert row is not None
        row.scheduled_at = datetime.now(UTC) - timedelta(minutes=1)
    assert await publish_due({"resources": res}) == 1
    assert await publish_due({"resources": res}) == 0  # its job is queued now
    await drain(res)
    [pub] = await publications(res, video.id)
    assert pub.status is PublicationStatus.PUBLISHED and len(fake.videos) == 1


async def test_disconnect_forgets_the_account(world) -> None:
    res, owner, _, _ = world
    me = principal_for(owner, PREMIUM)
    await connect(res, owner)
    r = await execute(res, "{ platformConnections { id platform accountName } }", None, me)
    [conn] = r.data["platformConnections"]
    assert conn["accountName"] == "My channel"
    r = await execute(
        res,
        "mutation($id: ID!) { disconnectPlatform(id: $id) }",
        {"id": conn["id"]},
        principal_for(await _other(res), PREMIUM),
    )
    assert codes(r) == ["NOT_FOUND"]
    r = await execute(res, "mutation($id: ID!) { disconnectPlatform(id: $id) }", {"id": conn["id"]}, me)
    assert r.errors is None and r.data["disconnectPlatform"] is True
    async with res.sessionmaker() as s:
        assert await s.get(PlatformConnection, from_global_id(conn["id"])[1]) is None


async def _other(res):
    async with res.sessionmaker() as s, s.begin():
        return await make_user(s, roles=PREMIUM)


async def test_a_worker_that_died_after_uploading_does_not_publish_twice(world) -> None:
    """The upload went through but the worker died before recording it: the publication is left
    PUBLISHING with its upload session kept, and the retry finds the finished video there."""
    res, owner, video, fake = world
    me = principal_for(owner, PREMIUM)
    await connect(res, owner)
    gid = str(to_global_id("Video", video.id))
    r = await execute(res, PUBLISH, {"input": {"videoId": gid, "platform": "youtube"}}, me)
    assert r.errors is None, r.errors
    _, pid = from_global_id(r.data["publishVideo"]["id"])

    class DiesAfterUpload(YouTubeAdapter):
        async def upload(self, credentials, request):
            await super().upload(credentials, request)
            raise SystemExit("worker killed")  # nothing after this line runs in a dead worker

    res.social_adapters = {"youtube": DiesAfterUpload(fake.url, timeout=10)}
    from jobs.publishing import publish_video

    with pytest.raises(SystemExit):
        await publish_video({"resources": res, "job_try": 1}, str(pid))
    [pub] = await publications(res, video.id)
    assert pub.status is PublicationStatus.PUBLISHING and pub.options.get("upload_session")
    assert len(fake.videos) == 1

    res.social_adapters = {"youtube": YouTubeAdapter(fake.url, timeout=10)}
    assert await publish_video({"resources": res, "job_try": 2}, str(pid)) == "published"
    [pub] = await publications(res, video.id)
    assert pub.status is PublicationStatus.PUBLISHED and pub.external_id in fake.videos
    assert len(fake.videos) == 1
