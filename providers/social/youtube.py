"""YouTube Data API v3: resumable upload and video statistics, over httpx.

Upload (https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol):
POST {base}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status with the JSON
metadata → a session URL in `Location` → PUT the bytes there → 200/201 with the video resource.
An interrupted PUT is resumed: `PUT` with `Content-Range: bytes */<size>` answers 308 with the
`Range` received so far, and the rest is sent from there.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from providers.social.base import (
    Credentials,
    PermanentSocialError,
    PlatformStats,
    SocialError,
    TransientSocialError,
    UploadRequest,
    UploadResult,
)

DEFAULT_BASE_URL = "https://www.googleapis.com"
WATCH_URL = "https://www.youtube.com/watch?v={id}"
MAX_TITLE, MAX_DESCRIPTION, MAX_TAG_CHARS = 100, 5000, 500
TRANSIENT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "backendError"}
CHUNK = 1024 * 1024


class YouTubeAdapter:
    platform = "youtube"

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: float = 60.0,
        max_resumes: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.max_resumes = max_resumes
        self._transport = transport

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=httpx.Timeout(self.timeout, connect=10.0), transport=self._transport)

    # ---------------------------------------------------------------- upload

    async def upload(self, credentials: Credentials, request: UploadRequest) -> UploadResult:
        size = (await asyncio.to_thread(request.path.stat)).st_size
        auth = {"Authorization": f"Bearer {credentials.access_token}"}
        async with self._client() as client:
            session_url, sent_from = None, 0
            if request.resume_session:
                try:
                    known = await self._received(client, request.resume_session, auth, size)
                except TransientSocialError:
                    known = None  # expired or unknown: open a new session
                if isinstance(known, UploadResult):
                    return known  # it had all arrived; the earlier attempt just never recorded it
                if known is not None:
                    session_url, sent_from = request.resume_session, known
            if session_url is None:
                session_url = await self._open_session(client, auth, request, size)
                if request.on_session is not None:
                    await request.on_session(session_url)
            resumes = 0
            while True:
                try:
                    resp = await client.put(
                        session_url,
                        content=_read(request.path, sent_from),
                        headers={
                            **auth,
                            "Content-Type": request.content_type,
                            "Content-Length": str(size - sent_from),
                            **(
                                {"Content-Range": f"bytes {sent_from}-{size - 1}/{size}"} if sent_from else {}
                            ),
                        },
                    )
                except httpx.TransportError:
                    resp = None
                if resp is not None and resp.status_code in (200, 201):
                    return self._result(resp)
                if resp is not None and resp.status_code not in (308, 500, 502, 503, 504):
                    raise error_for(resp)
                resumes += 1
                if resumes > self.max_resumes:
                    raise TransientSocialError(
                        "The upload to YouTube kept being interrupted; will retry.", platform=self.platform
                    )
                received = await self._received(client, session_url, auth, size)
                if isinstance(received, UploadResult):  # everything had arrived after all
                    return received
                sent_from = received

    async def _open_session(
        self, client: httpx.AsyncClient, auth: dict[str, str], request: UploadRequest, size: int
    ) -> str:
        try:
            start = await client.post(
                f"{self.base_url}/upload/youtube/v3/videos",
                params={"uploadType": "resumable", "part": "snippet,status"},
                headers={
                    **auth,
                    "X-Upload-Content-Type": request.content_type,
                    "X-Upload-Content-Length": str(size),
                },
                json=metadata(request),
            )
        except httpx.TransportError as exc:
            raise TransientSocialError(
                f"Could not reach YouTube ({type(exc).__name__}); will retry.", platform=self.platform
            ) from None
        if start.status_code != 200:
            raise error_for(start)
        session_url = start.headers.get("location")
        if not session_url:
            raise TransientSocialError(
                "YouTube did not open an upload session; will retry.", platform=self.platform
            )
        return str(session_url)

    async def _received(
        self, client: httpx.AsyncClient, session_url: str, auth: dict[str, str], size: int
    ) -> int | UploadResult:
        """Ask the session how many bytes it holds (308 + Range: bytes=0-N), or the finished video."""
        try:
            resp = await client.put(
                session_url, headers={**auth, "Content-Range": f"bytes */{size}", "Content-Length": "0"}
            )
        except httpx.TransportError:
            return 0
        if resp.status_code in (200, 201):
            return self._result(resp)
        if resp.status_code == 308:
            m = re.match(r"bytes=0-(\d+)", resp.headers.get("range", ""))
            return int(m.group(1)) + 1 if m else 0
        if resp.status_code == 404:
            raise TransientSocialError(
                "The YouTube upload session expired; will start again.", platform=self.platform
            )
        raise error_for(resp)

    def _result(self, resp: httpx.Response) -> UploadResult:
        try:
            video_id = str(resp.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise TransientSocialError(
                "YouTube answered the upload without a video id; will retry.", platform=self.platform
            ) from None
        return UploadResult(external_id=video_id, external_url=WATCH_URL.format(id=video_id))

    # ---------------------------------------------------------------- statistics

    async def statistics(self, credentials: Credentials, external_ids: list[str]) -> dict[str, PlatformStats]:
        out: dict[str, PlatformStats] = {}
        auth = {"Authorization": f"Bearer {credentials.access_token}"}
        async with self._client() as client:
            for i in range(0, len(external_ids), 50):  # the API takes at most 50 ids per call
                batch = external_ids[i : i + 50]
                try:
                    resp = await client.get(
                        f"{self.base_url}/youtube/v3/videos",
                        params={"part": "statistics", "id": ",".join(batch)},
                        headers=auth,
                    )
                except httpx.TransportError as exc:
                    raise TransientSocialError(
                        f"Could not reach YouTube ({type(exc).__name__}).", platform=self.platform
                    ) from None
                if resp.status_code != 200:
                    raise error_for(resp)
                for item in resp.json().get("items", []):
                    st = item.get("statistics", {})
                    out[str(item["id"])] = PlatformStats(
                        views=_int(st.get("viewCount")),
                        likes=_int(st.get("likeCount")),
                        dislikes=_int(st.get("dislikeCount")),
                        comments=_int(st.get("commentCount")),
                    )
        return out


def metadata(request: UploadRequest) -> dict[str, Any]:
    """The video resource's snippet and status, trimmed to YouTube's limits ("<" and ">" are refused)."""

    def clean(s: str) -> str:
        return s.replace("<", "").replace(">", "")

    tags: list[str] = []
    used = 0
    for tag in request.tags:
        tag = clean(tag).strip()
        if tag and used + len(tag) <= MAX_TAG_CHARS:
            tags.append(tag)
            used += len(tag) + 1
    return {
        "snippet": {
            "title": clean(request.title)[:MAX_TITLE] or "Untitled",
            "description": clean(request.description or "")[:MAX_DESCRIPTION],
            "tags": tags,
            "categoryId": "22",
        },
        "status": {"privacyStatus": request.privacy, "selfDeclaredMadeForKids": False},
    }


def error_for(resp: httpx.Response) -> SocialError:
    """Map an error answer to a message the user can act on."""
    reason, detail = "", ""
    try:
        err = resp.json().get("error", {})
        detail = str(err.get("message", ""))[:200]
        reason = str((err.get("errors") or [{}])[0].get("reason", ""))
    except (ValueError, AttributeError, IndexError):
        pass
    code = resp.status_code
    if code == 401:
        return PermanentSocialError(
            "YouTube did not accept the access token (expired or revoked). "
            "Reconnect your YouTube account, then publish again.",
            platform="youtube",
            status=code,
        )
    if code == 429 or code >= 500 or (code == 403 and reason in TRANSIENT_REASONS):
        return TransientSocialError(
            f"YouTube is busy or over quota right now ({code}); will retry.", platform="youtube", status=code
        )
    if code == 403:
        return PermanentSocialError(
            "YouTube refused the upload for this account"
            + (f": {detail}" if detail else ".")
            + " Check the channel's permissions, then publish again.",
            platform="youtube",
            status=code,
        )
    return PermanentSocialError(
        "YouTube rejected the video" + (f": {detail}" if detail else f" ({code})."),
        platform="youtube",
        status=code,
    )


async def _read(path: Any, offset: int) -> AsyncIterator[bytes]:
    with open(path, "rb") as fh:  # noqa: ASYNC230 - reads of 1 MiB between network writes
        fh.seek(offset)
        while chunk := fh.read(CHUNK):
            yield chunk


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
