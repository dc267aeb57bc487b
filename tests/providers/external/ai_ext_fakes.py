"""A local HTTP server that answers like the AI providers' wire protocols, and
factories for their canned answers. The adapters under test talk to it through
their real SDKs (base_url = this server)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Responder = Callable[[Request, "Recorded"], Awaitable[Response]]

API_KEY = "sk-test-SECRET-0123456789abcdef"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    responders: list[Responder]
    calls: int = 0


@dataclass
class FakeServer:
    routes: list[_Route] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        self.routes.clear()
        self.requests.clear()
        self.in_flight = self.max_in_flight = 0

    def on(self, method: str, path_regex: str, *responders: Responder) -> None:
        """Answer requests whose path matches with the responders in order; the last repeats."""
        self.routes.append(_Route(method.upper(), re.compile(path_regex), list(responders)))

    def calls(self, path_regex: str) -> list[Recorded]:
        rx = re.compile(path_regex)
        return [r for r in self.requests if rx.search(r.path)]

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        rec = Recorded(
            request.method,
            request.url.path,
            {k.lower(): v for k, v in request.headers.items()},
            dict(request.query_params),
            body,
        )
        self.requests.append(rec)
        for route in self.routes:
            if route.method == request.method and route.pattern.search(request.url.path):
                responder = route.responders[min(route.calls, len(route.responders) - 1)]
                route.calls += 1
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    return await responder(request, rec)
                finally:
                    self.in_flight -= 1
        return JSONResponse({"error": {"message": f"no fake route for {request.url.path}"}}, status_code=404)

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        return Starlette(routes=[Route("/{path:path}", self._endpoint, methods=methods)])


def start_server() -> tuple[FakeServer, Callable[[], None]]:
    fake = FakeServer()
    config = uvicorn.Config(
        fake.app(), host="127.0.0.1", port=0, log_level="error", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("fake provider server did not start")
        time.sleep(0.01)
    fake.port = server.servers[0].sockets[0].getsockname()[1]

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)

    return fake, stop


# ------------------------------------------------------------------ generic responders


def reply_json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Responder:
    async def respond(request: Request, rec: Recorded) -> Response:
        return JSONResponse(payload, status_code=status, headers=headers)

    return respond


def reply_raw(body: bytes, status: int = 200, media_type: str = "application/json") -> Responder:
    async def respond(request: Request, rec: Recorded) -> Response:
        return Response(body, status_code=status, media_type=media_type)

    return respond


def reply_error(status: int, message: str = "boom", headers: dict[str, str] | None = None) -> Responder:
    return reply_json({"error": {"message": message, "type": "error", "code": status}}, status, headers)


def reply_slow(seconds: float, then: Responder | None = None) -> Responder:
    async def respond(request: Request, rec: Recorded) -> Response:
        await asyncio.sleep(seconds)
        if then is not None:
            return await then(request, rec)
        return JSONResponse({})

    return respond


def reply_with(fn: Callable[[Recorded], Response]) -> Responder:
    async def respond(request: Request, rec: Recorded) -> Response:
        return fn(rec)

    return respond


# ------------------------------------------------------------------ content factories


def script_payload(
    narrations: tuple[str, ...] = ("First scene words here.", "Second scene words here."),
    *,
    title: str = "A Title",
    drop: str | None = None,
) -> dict[str, Any]:
    scenes = [
        {
            "narration": n,
            "visual": f"picture {i}",
            "keywords": [f"kw{i}", "shared"],
            "heading": f"Heading {i}",
        }
        for i, n in enumerate(narrations)
    ]
    data: dict[str, Any] = {
        "title": title,
        "scenes": scenes,
        "seo": {"title": "SEO title", "description": "SEO description.", "keywords": ["a", "b"]},
    }
    if drop == "visual":
        del scenes[0]["visual"]
    elif drop is not None:
        del data[drop]
    return data


def png_bytes(width: int, height: int, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def wav_bytes(seconds: float, rate: int = 24000, *, streamed: bool = True, amplitude: int = 1000) -> bytes:
    """16-bit mono WAV; `streamed` writes 0xFFFFFFFF placeholder sizes like OpenAI's streamed WAV."""
    n = round(seconds * rate)
    frames = struct.pack(f"<{n}h", *([amplitude] * n))
    riff_size = 0xFFFFFFFF if streamed else 36 + len(frames)
    data_size = 0xFFFFFFFF if streamed else len(frames)
    header = b"RIFF" + struct.pack("<I", riff_size) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", data_size)
    return header + frames


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ------------------------------------------------------------------ OpenAI wire format


def openai_chat(
    content: str | None,
    *,
    prompt_tokens: int = 120,
    completion_tokens: int = 340,
    finish_reason: str = "stop",
    model: str = "gpt-test",
    usage: bool = True,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
    }
    if usage:
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
    return body


def openai_image(
    data: bytes | None = None, *, url: str | None = None, raw_b64: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if raw_b64 is not None:
        item["b64_json"] = raw_b64
    elif data is not None:
        item["b64_json"] = b64(data)
    if url is not None:
        item["url"] = url
    return {
        "created": 1700000000,
        "data": [item],
        "usage": {"input_tokens": 11, "output_tokens": 22, "total_tokens": 33},
    }


# ------------------------------------------------------------------ Anthropic wire format


def anthropic_message(
    text: str,
    *,
    input_tokens: int = 90,
    output_tokens: int = 210,
    stop_reason: str = "end_turn",
    model: str = "claude-test",
) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


# ------------------------------------------------------------------ Gemini wire format


def gemini_content(
    text: str, *, prompt_tokens: int = 70, output_tokens: int = 160, finish: str = "STOP"
) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish, "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": prompt_tokens + output_tokens,
        },
        "modelVersion": "gemini-test",
    }


def gemini_error(status: int, message: str = "boom", code_name: str = "INTERNAL") -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": code_name}}


# ------------------------------------------------------------------ ElevenLabs wire format


def elevenlabs_alignment(text: str, seconds_per_char: float = 0.05) -> dict[str, Any]:
    chars = list(text)
    starts = [round(i * seconds_per_char, 4) for i in range(len(chars))]
    ends = [round((i + 1) * seconds_per_char, 4) for i in range(len(chars))]
    return {"characters": chars, "character_start_times_seconds": starts, "character_end_times_seconds": ends}


def pcm_bytes(seconds: float, rate: int = 22050) -> bytes:
    n = round(seconds * rate)
    return struct.pack(f"<{n}h", *([500] * n))
