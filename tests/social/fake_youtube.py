"""A local server speaking YouTube Data API v3's resumable upload protocol and videos.list."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Session:
    metadata: dict[str, Any]
    size: int
    content_type: str
    data: bytearray = field(default_factory=bytearray)
    video_id: str | None = None


@dataclass
class FakeYouTube:
    tokens: set[str] = field(default_factory=lambda: {"good-token"})
    fail_start: list[int] = field(default_factory=list)
    """Status codes answered to the next upload initiations, one per request."""
    cut_next_put: bool = False
    """Keep only the first half of the next PUT's bytes and answer 503 (an interrupted upload)."""
    sessions: dict[str, Session] = field(default_factory=dict)
    videos: dict[str, Session] = field(default_factory=dict)
    stats: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def _auth(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            body = {
                "error": {
                    "code": 401,
                    "message": "Invalid Credentials",
                    "errors": [{"reason": "authError", "message": "Invalid Credentials"}],
                }
            }
            return web.json_response(body, status=401)
        return None

    async def start_upload(self, request: web.Request) -> web.Response:
        self.requests.append("POST")
        if (denied := self._auth(request)) is not None:
            return denied
        if request.query.get("uploadType") != "resumable" or request.query.get("part") != "snippet,status":
            return web.json_response({"error": {"code": 400, "message": "bad query"}}, status=400)
        if self.fail_start:
            code = self.fail_start.pop(0)
            return web.json_response({"error": {"code": code, "message": "Backend Error"}}, status=code)
        meta = await request.json()
        if not meta.get("snippet", {}).get("title"):
            return web.json_response({"error": {"code": 400, "message": "No title"}}, status=400)
        upload_id = uuid.uuid4().hex
        self.sessions[upload_id] = Session(
            meta, int(request.headers["X-Upload-Content-Length"]), request.headers["X-Upload-Content-Type"]
        )
        location = f"{self.url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
        return web.Response(status=200, headers={"Location": location})

    async def put_bytes(self, request: web.Request) -> web.Response:
        self.requests.append("PUT")
        if (denied := self._auth(request)) is not None:
            return denied
        s = self.sessions.get(request.query.get("upload_id", ""))
        if s is None:
            return web.Response(status=404)
        body = await request.read()
        content_range = request.headers.get("Content-Range", "")
        if content_range.startswith("bytes */"):  # status query
            if s.video_id is not None:  # finished: YouTube answers with the video resource
                return web.json_response({"id": s.video_id, "kind": "youtube#video"}, status=200)
            headers = {"Range": f"bytes=0-{len(s.data) - 1}"} if s.data else {}
            return web.Response(status=308, headers=headers)
        start = int(content_range.split(" ")[1].split("-")[0]) if content_range else 0
        if start != len(s.data):
            return web.json_response({"error": {"code": 400, "message": "wrong offset"}}, status=400)
        if self.cut_next_put:
            self.cut_next_put = False
            s.data += body[: len(body) // 2]
            return web.Response(status=503)
        s.data += body
        if len(s.data) < s.size:
            return web.Response(status=308, headers={"Range": f"bytes=0-{len(s.data) - 1}"})
        video_id = uuid.uuid4().hex[:11]
        s.video_id = video_id
        self.videos[video_id] = s
        return web.json_response({"id": video_id, "kind": "youtube#video", "snippet": s.metadata["snippet"]})

    async def list_videos(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        ids = request.query.get("id", "").split(",")
        items = [{"id": i, "statistics": self.stats[i]} for i in ids if i in self.stats]
        return web.Response(text=json.dumps({"items": items}), content_type="application/json")


async def start_fake() -> tuple[FakeYouTube, web.AppRunner]:
    fake = FakeYouTube()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/upload/youtube/v3/videos", fake.start_upload)
    app.router.add_put("/upload/youtube/v3/videos", fake.put_bytes)
    app.router.add_get("/youtube/v3/videos", fake.list_videos)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}"
    return fake, runner
