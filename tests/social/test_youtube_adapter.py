"""The YouTube adapter against a local server speaking the resumable upload protocol."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from providers.social.base import Credentials, PermanentSocialError, TransientSocialError, UploadRequest
from providers.social.youtube import YouTubeAdapter
from tests.social.fake_youtube import FakeYouTube

GOOD = Credentials(access_token="good-token", account_id="UC1")


def video_file(tmp_path: Path, size: int = 300_000) -> Path:
    p = tmp_path / "video.mp4"
    p.write_bytes(os.urandom(size))
    return p


async def test_upload_sends_metadata_and_every_byte(fake_youtube: FakeYouTube, tmp_path: Path) -> None:
    path = video_file(tmp_path)
    req = UploadRequest(path=path, title="Tea <history>", description="About tea", tags=["tea", "history"])
    result = await YouTubeAdapter(fake_youtube.url).upload(GOOD, req)
    stored = fake_youtube.videos[result.external_id]
    assert bytes(stored.data) == path.read_bytes()
    assert stored.content_type == "video/mp4"
    assert stored.metadata["snippet"]["title"] == "Tea history"  # YouTube refuses < and >
    assert stored.metadata["snippet"]["tags"] == ["tea", "history"]
    assert stored.metadata["status"]["privacyStatus"] == "public"
    assert result.external_url == f"https://www.youtube.com/watch?v={result.external_id}"


async def test_expired_token_is_permanent_and_actionable(fake_youtube: FakeYouTube, tmp_path: Path) -> None:
    with pytest.raises(PermanentSocialError) as err:
        await YouTubeAdapter(fake_youtube.url).upload(
            Credentials(access_token="expired"), UploadRequest(path=video_file(tmp_path), title="x")
        )
    assert "Reconnect your YouTube account" in err.value.message
    assert fake_youtube.requests == ["POST"]  # no bytes sent on a refused session
    assert fake_youtube.videos == {}


async def test_unavailable_is_transient(fake_youtube: FakeYouTube, tmp_path: Path) -> None:
    fake_youtube.fail_start = [503]
    adapter = YouTubeAdapter(fake_youtube.url)
    with pytest.raises(TransientSocialError):
        await adapter.upload(GOOD, UploadRequest(path=video_file(tmp_path), title="x"))
    result = await adapter.upload(
        GOOD, UploadRequest(path=video_file(tmp_path), title="x")
    )  # the retry works
    assert result.external_id in fake_youtube.videos


async def test_quota_403_is_transient_other_403_and_400_are_permanent(
    fake_youtube: FakeYouTube, tmp_path: Path
) -> None:
    import httpx

    from providers.social.youtube import error_for

    def resp(code: int, reason: str) -> httpx.Response:
        return httpx.Response(code, json={"error": {"message": "m", "errors": [{"reason": reason}]}})

    assert error_for(resp(403, "quotaExceeded")).transient
    assert not error_for(resp(403, "forbidden")).transient
    assert not error_for(resp(400, "invalidTitle")).transient
    assert error_for(resp(429, "")).transient


async def test_interrupted_upload_resumes_where_it_stopped(fake_youtube: FakeYouTube, tmp_path: Path) -> None:
    path = video_file(tmp_path, 2_000_000)
    fake_youtube.cut_next_put = True
    result = await YouTubeAdapter(fake_youtube.url).upload(GOOD, UploadRequest(path=path, title="x"))
    assert bytes(fake_youtube.videos[result.external_id].data) == path.read_bytes()
    assert fake_youtube.requests.count("POST") == 1  # one session, resumed, not restarted
    assert fake_youtube.requests.count("PUT") == 3  # cut, status query, the rest


async def test_statistics(fake_youtube: FakeYouTube) -> None:
    fake_youtube.stats = {"a": {"viewCount": "120", "likeCount": "7", "commentCount": "3"}, "b": {}}
    stats = await YouTubeAdapter(fake_youtube.url).statistics(GOOD, ["a", "b", "gone"])
    assert stats["a"].views == 120 and stats["a"].likes == 7 and stats["a"].comments == 3
    assert stats["b"].views == 0 and "gone" not in stats
    with pytest.raises(PermanentSocialError):
        await YouTubeAdapter(fake_youtube.url).statistics(Credentials(access_token="bad"), ["a"])


async def test_a_known_upload_session_is_resumed_not_uploaded_again(
    fake_youtube: FakeYouTube, tmp_path: Path
) -> None:
    """A worker that crashed after the upload but before recording it must not publish twice."""
    path = video_file(tmp_path)
    sessions: list[str] = []

    async def remember(url: str) -> None:
        sessions.append(url)

    adapter = YouTubeAdapter(fake_youtube.url)
    first = await adapter.upload(GOOD, UploadRequest(path=path, title="Once", on_session=remember))
    assert len(sessions) == 1
    fake_youtube.requests.clear()
    again = await adapter.upload(GOOD, UploadRequest(path=path, title="Once", resume_session=sessions[0]))
    assert again == first and len(fake_youtube.videos) == 1
    assert fake_youtube.requests == ["PUT"]  # one status query, no new session, no bytes


async def test_a_half_sent_session_continues_and_an_unknown_one_starts_afresh(
    fake_youtube: FakeYouTube, tmp_path: Path
) -> None:
    path = video_file(tmp_path)
    adapter = YouTubeAdapter(fake_youtube.url, max_resumes=0)
    sessions: list[str] = []

    async def remember(url: str) -> None:
        sessions.append(url)

    fake_youtube.cut_next_put = True
    with pytest.raises(TransientSocialError):
        await adapter.upload(GOOD, UploadRequest(path=path, title="Half", on_session=remember))
    result = await YouTubeAdapter(fake_youtube.url).upload(
        GOOD, UploadRequest(path=path, title="Half", resume_session=sessions[0])
    )
    assert bytes(fake_youtube.videos[result.external_id].data) == path.read_bytes()
    gone = f"{fake_youtube.url}/upload/youtube/v3/videos?uploadType=resumable&upload_id=expired"
    fresh = await YouTubeAdapter(fake_youtube.url).upload(
        GOOD, UploadRequest(path=path, title="New", resume_session=gone)
    )
    assert fresh.external_id in fake_youtube.videos and len(fake_youtube.videos) == 2
