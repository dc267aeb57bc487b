"""Gemini adapters through the real `google-genai` SDK against a local fake server."""

from __future__ import annotations

import io
import json
import time

import pytest
from ai_ext_fakes import (
    API_KEY,
    FakeServer,
    b64,
    gemini_content,
    gemini_error,
    png_bytes,
    reply_json,
    reply_raw,
    reply_slow,
    script_payload,
)

from providers.ai.base import (
    ImageRequest,
    MalformedResponseError,
    ProviderTimeoutError,
    RateLimitedError,
    ScriptRequest,
    TransientProviderError,
)
from providers.ai.errors import ProviderAuthError, ProviderRejectedError
from providers.ai.gemini import GeminiImages, GeminiText, closest_aspect_ratio

GENERATE = r"/v1\w*/models/gemini-test:generateContent$"
REQ = ScriptRequest(topic="bees", target_seconds=45, language="fr")


def gemini(fake: FakeServer, timeout: float = 2.0) -> GeminiText:
    return GeminiText(API_KEY, base_url=fake.url, model="gemini-test", timeout=timeout)


async def test_text_success_json_mode_and_usage(fake: FakeServer) -> None:
    fake.on(
        "POST",
        GENERATE,
        reply_json(gemini_content(json.dumps(script_payload()), prompt_tokens=70, output_tokens=160)),
    )
    result = await gemini(fake).write_script(REQ)
    assert result.script.language == "fr"
    assert len(result.script.scenes) == 2
    assert (result.usage.input_tokens, result.usage.output_tokens) == (70, 160)
    assert result.usage.model == "gemini-test"
    (call,) = fake.calls(GENERATE)
    body = call.json()
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    assert "JSON" in body["systemInstruction"]["parts"][0]["text"]
    assert "bees" in body["contents"][0]["parts"][0]["text"]
    assert call.headers["x-goog-api-key"] == API_KEY


async def test_text_429_retry_after_and_no_sdk_retry(fake: FakeServer) -> None:
    fake.on(
        "POST",
        GENERATE,
        reply_json(gemini_error(429, "quota", "RESOURCE_EXHAUSTED"), 429, {"retry-after": "4"}),
    )
    with pytest.raises(RateLimitedError) as info:
        await gemini(fake).write_script(REQ)
    assert info.value.retry_after == 4
    assert len(fake.calls(GENERATE)) == 1


async def test_text_500_is_transient(fake: FakeServer) -> None:
    fake.on("POST", GENERATE, reply_json(gemini_error(500, "internal"), 500))
    with pytest.raises(TransientProviderError, match="HTTP 500"):
        await gemini(fake).write_script(REQ)
    assert len(fake.calls(GENERATE)) == 1


async def test_text_timeout(fake: FakeServer) -> None:
    fake.on("POST", GENERATE, reply_slow(8))
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        await gemini(fake, timeout=0.3).write_script(REQ)
    assert time.monotonic() - started < 6  # gave up long before the 8 s answer


async def test_text_malformed_and_blocked(fake: FakeServer) -> None:
    fake.on(
        "POST",
        GENERATE,
        reply_json(gemini_content('{"title": 1}')),
        reply_json(gemini_content("", finish="SAFETY")),
        reply_json(gemini_content(json.dumps(script_payload()), finish="MAX_TOKENS")),
        reply_raw(b"not json", 200),
    )
    with pytest.raises(MalformedResponseError):
        await gemini(fake).write_script(REQ)
    with pytest.raises(ProviderRejectedError, match="SAFETY"):
        await gemini(fake).write_script(REQ)
    with pytest.raises(MalformedResponseError, match="cut off"):
        await gemini(fake).write_script(REQ)
    with pytest.raises(MalformedResponseError):
        await gemini(fake).write_script(REQ)


async def test_text_bad_key(fake: FakeServer) -> None:
    body = gemini_error(400, f"API key not valid: {API_KEY}", "INVALID_ARGUMENT")
    fake.on("POST", GENERATE, reply_json(body, 403))
    with pytest.raises(ProviderAuthError) as info:
        await gemini(fake).write_script(REQ)
    assert API_KEY not in str(info.value)


def test_closest_aspect_ratio() -> None:
    assert closest_aspect_ratio(1920, 1080) == "16:9"
    assert closest_aspect_ratio(1080, 1920) == "9:16"
    assert closest_aspect_ratio(1080, 1350) == "3:4"


async def test_image_via_generate_content(fake: FakeServer) -> None:
    payload = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [{"inlineData": {"mimeType": "image/png", "data": b64(png_bytes(1344, 768))}}],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1290, "totalTokenCount": 1295},
    }
    fake.on("POST", r"/v1\w*/models/img-test:generateContent$", reply_json(payload))
    provider = GeminiImages(API_KEY, base_url=fake.url, model="img-test", timeout=2)
    result = await provider.generate_image(ImageRequest(prompt="a hive", width=1280, height=720))

    from PIL import Image

    with Image.open(io.BytesIO(result.data)) as img:
        assert img.size == (1280, 720)
    assert (result.usage.units, result.usage.output_tokens) == (1, 1290)
    body = fake.calls("img-test")[0].json()
    assert body["generationConfig"]["responseModalities"] == ["IMAGE"]
    assert body["generationConfig"]["imageConfig"]["aspectRatio"] == "16:9"


async def test_image_missing_is_malformed(fake: FakeServer) -> None:
    fake.on("POST", r"/v1\w*/models/img-test:generateContent$", reply_json(gemini_content("I cannot draw")))
    provider = GeminiImages(API_KEY, base_url=fake.url, model="img-test", timeout=2)
    with pytest.raises(MalformedResponseError, match="without an image"):
        await provider.generate_image(ImageRequest(prompt="a hive", width=64, height=64))
