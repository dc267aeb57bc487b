"""OpenAI adapters through the real `openai` SDK against a local fake server."""

from __future__ import annotations

import io
import json
import time
import traceback
import wave
from pathlib import Path
from typing import Any

import pytest
from ai_ext_fakes import (
    API_KEY,
    FakeServer,
    openai_chat,
    openai_image,
    png_bytes,
    reply_error,
    reply_json,
    reply_raw,
    reply_slow,
    reply_with,
    script_payload,
    wav_bytes,
)
from starlette.responses import Response

from providers.ai.base import (
    ImageRequest,
    MalformedResponseError,
    PermanentProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
    ScriptRequest,
    SpeechRequest,
    TransientProviderError,
)
from providers.ai.errors import ProviderAuthError, ProviderNotFoundError, ProviderRejectedError
from providers.ai.formats import read_wav
from providers.ai.openai import OpenAIImages, OpenAISpeech, OpenAIText, closest_size

CHAT = r"/v1/chat/completions$"
IMAGES = r"/v1/images/generations$"
SPEECH = r"/v1/audio/speech$"


def text(fake: FakeServer, **kw: Any) -> OpenAIText:
    return OpenAIText(
        API_KEY, base_url=f"{fake.url}/v1", model="gpt-test", timeout=kw.pop("timeout", 2.0), **kw
    )


REQ = ScriptRequest(topic="volcanoes", target_seconds=60, words_per_minute=150)


# ------------------------------------------------------------------ text


async def test_text_success_parses_script_and_usage(fake: FakeServer) -> None:
    fake.on(
        "POST",
        CHAT,
        reply_json(openai_chat(json.dumps(script_payload()), prompt_tokens=120, completion_tokens=340)),
    )
    result = await text(fake).write_script(REQ)

    script = result.script
    assert script.title == "A Title"
    assert [s.narration for s in script.scenes] == ["First scene words here.", "Second scene words here."]
    assert script.scenes[1].visual == "picture 1"
    assert script.scenes[0].keywords == ("kw0", "shared")
    assert script.scenes[0].heading == "Heading 0"
    assert script.scenes[0].estimated_seconds == pytest.approx(4 * 60 / 150)
    assert script.seo.keywords == ("a", "b")
    assert (result.usage.model, result.usage.input_tokens, result.usage.output_tokens) == (
        "gpt-test",
        120,
        340,
    )

    (call,) = fake.calls(CHAT)
    body = call.json()
    assert body["model"] == "gpt-test"
    assert body["response_format"] == {"type": "json_object"}
    assert "about 150 words" in body["messages"][1]["content"]  # 60 s x 150 wpm / 60
    assert "volcanoes" in body["messages"][1]["content"]
    assert call.headers["authorization"] == f"Bearer {API_KEY}"


async def test_text_json_mode_can_be_turned_off(fake: FakeServer) -> None:
    fake.on("POST", CHAT, reply_json(openai_chat("```json\n" + json.dumps(script_payload()) + "\n```")))
    result = await text(fake, json_mode=False).write_script(REQ)
    assert len(result.script.scenes) == 2
    assert "response_format" not in fake.calls(CHAT)[0].json()


async def test_text_429_maps_to_rate_limited_with_retry_after_and_no_sdk_retry(fake: FakeServer) -> None:
    fake.on("POST", CHAT, reply_error(429, "slow down", {"retry-after": "7"}))
    with pytest.raises(RateLimitedError) as info:
        await text(fake).write_script(REQ)
    assert info.value.retry_after == 7
    assert info.value.provider == "openai"
    assert len(fake.calls(CHAT)) == 1  # SDK retries are off


async def test_text_500_is_transient_without_retry(fake: FakeServer) -> None:
    fake.on("POST", CHAT, reply_error(500, "internal"))
    with pytest.raises(TransientProviderError) as info:
        await text(fake).write_script(REQ)
    assert type(info.value) is TransientProviderError
    assert "HTTP 500" in info.value.message
    assert len(fake.calls(CHAT)) == 1


async def test_text_timeout(fake: FakeServer) -> None:
    fake.on("POST", CHAT, reply_slow(8))
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        await text(fake, timeout=0.3).write_script(REQ)
    assert time.monotonic() - started < 6  # gave up long before the 8 s answer


@pytest.mark.parametrize(
    "content",
    [
        "this is not json at all",
        '{"title": "x", "scenes": [',
        json.dumps(script_payload(drop="scenes")),
        json.dumps(script_payload(drop="visual")),
        json.dumps(script_payload(drop="seo")),
        json.dumps({"title": "x", "scenes": [], "seo": {"title": "t", "description": "d"}}),
        "[1, 2]",
        None,
    ],
)
async def test_text_malformed_answers(fake: FakeServer, content: str | None) -> None:
    fake.on("POST", CHAT, reply_json(openai_chat(content)))
    with pytest.raises(MalformedResponseError):
        await text(fake).write_script(REQ)


async def test_text_non_json_http_body_is_malformed(fake: FakeServer) -> None:
    fake.on("POST", CHAT, reply_raw(b"<html>gateway</html>", 200, "text/html"))
    with pytest.raises(MalformedResponseError):
        await text(fake).write_script(REQ)


async def test_text_cut_off_answer_is_malformed(fake: FakeServer) -> None:
    fake.on("POST", CHAT, reply_json(openai_chat(json.dumps(script_payload()), finish_reason="length")))
    with pytest.raises(MalformedResponseError, match="cut off"):
        await text(fake).write_script(REQ)


async def test_text_401_is_permanent_and_never_echoes_the_key(fake: FakeServer) -> None:
    fake.on("POST", CHAT, reply_error(401, f"Incorrect API key provided: {API_KEY}"))
    provider = text(fake)
    with pytest.raises(ProviderAuthError) as info:
        await provider.write_script(REQ)
    assert "rejected the API key" in str(info.value)
    assert API_KEY not in str(info.value)
    assert API_KEY not in "".join(traceback.format_exception(info.value))  # SDK error not chained
    assert API_KEY not in repr(provider)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ProviderRejectedError),
        (403, ProviderAuthError),
        (404, ProviderNotFoundError),
        (422, ProviderRejectedError),
    ],
)
async def test_text_4xx_are_permanent(fake: FakeServer, status: int, cls: type[Exception]) -> None:
    fake.on("POST", CHAT, reply_error(status, f"bad thing, key={API_KEY}"))
    with pytest.raises(cls) as info:
        await text(fake).write_script(REQ)
    assert isinstance(info.value, PermanentProviderError)
    assert API_KEY not in str(info.value)


async def test_own_script_kept_verbatim(fake: FakeServer) -> None:
    own = "First scene words here.   Second scene words here."
    fake.on("POST", CHAT, reply_json(openai_chat(json.dumps(script_payload()))))
    req = ScriptRequest(topic="", target_seconds=10, own_script=own, title="Mine")
    result = await text(fake).write_script(req)
    assert result.script.title == "Mine"
    assert (
        " ".join(s.narration for s in result.script.scenes)
        == "First scene words here. Second scene words here."
    )
    assert own in fake.calls(CHAT)[0].json()["messages"][1]["content"]


async def test_own_script_rewritten_by_model_is_rejected(fake: FakeServer) -> None:
    own = "First scene words here. Second scene words here."
    reworded = script_payload(("First scene words here.", "Second scene, improved wording."))
    fake.on("POST", CHAT, reply_json(openai_chat(json.dumps(reworded))))
    with pytest.raises(MalformedResponseError, match="changed the user's script"):
        await text(fake).write_script(ScriptRequest(topic="", target_seconds=10, own_script=own))


async def test_compatible_server_without_key_and_without_usage(fake: FakeServer) -> None:
    fake.on("POST", CHAT, reply_json(openai_chat(json.dumps(script_payload()), usage=False)))
    provider = OpenAIText(None, base_url=f"{fake.url}/v1", model="llama3.2", name="ollama", json_mode=False)
    result = await provider.write_script(REQ)
    assert provider.name == "ollama"
    assert result.usage.tokens == 0
    body = fake.calls(CHAT)[0].json()
    assert body["max_tokens"] > 0 and "max_completion_tokens" not in body


def test_no_key_and_no_base_url_is_unavailable() -> None:
    with pytest.raises(ProviderUnavailableError):
        OpenAIText(None)


# ------------------------------------------------------------------ images


def images(fake: FakeServer, **kw: object) -> OpenAIImages:
    return OpenAIImages(API_KEY, base_url=f"{fake.url}/v1", timeout=2.0, **kw)  # type: ignore[arg-type]


def test_closest_size() -> None:
    gpt = ("1024x1024", "1536x1024", "1024x1536")
    assert closest_size(1920, 1080, gpt) == "1536x1024"
    assert closest_size(1080, 1920, gpt) == "1024x1536"
    assert closest_size(500, 500, gpt) == "1024x1024"
    assert closest_size(1920, 1080, ("1024x1024", "1792x1024", "1024x1792")) == "1792x1024"


async def test_image_generated_and_fitted_to_exact_size(fake: FakeServer) -> None:
    fake.on("POST", IMAGES, reply_json(openai_image(png_bytes(1536, 1024))))
    result = await images(fake).generate_image(ImageRequest(prompt="a red fox", width=1920, height=1080))

    from PIL import Image

    with Image.open(io.BytesIO(result.data)) as img:
        assert img.size == (1920, 1080)
        assert img.format == "PNG"
        assert img.getpixel((960, 540))[:3] == (200, 30, 30)
    assert (result.width, result.height, result.mime_type) == (1920, 1080, "image/png")
    assert (result.usage.units, result.usage.input_tokens, result.usage.output_tokens) == (1, 11, 22)
    body = fake.calls(IMAGES)[0].json()
    assert body["size"] == "1536x1024"
    assert body["prompt"] == "a red fox"
    assert "response_format" not in body  # gpt-image models reject it


async def test_dalle_asks_for_b64(fake: FakeServer) -> None:
    fake.on("POST", IMAGES, reply_json(openai_image(png_bytes(1024, 1792))))
    result = await images(fake, model="dall-e-3").generate_image(
        ImageRequest(prompt="p", width=720, height=1280)
    )
    assert (result.width, result.height) == (720, 1280)
    body = fake.calls(IMAGES)[0].json()
    assert body["response_format"] == "b64_json"
    assert body["size"] == "1024x1792"


async def test_image_url_answer_is_downloaded(fake: FakeServer) -> None:
    fake.on("GET", r"/files/img\.png$", reply_raw(png_bytes(64, 64), 200, "image/png"))
    fake.on("POST", IMAGES, reply_json(openai_image(url=f"{fake.url}/files/img.png")))
    result = await images(fake, sizes=("64x64",)).generate_image(
        ImageRequest(prompt="p", width=32, height=32)
    )
    assert result.width == 32


@pytest.mark.parametrize(
    "payload",
    [openai_image(raw_b64="!!!not base64!!!"), openai_image(b"not an image"), {"created": 1, "data": []}],
)
async def test_image_malformed(fake: FakeServer, payload: dict[str, object]) -> None:
    fake.on("POST", IMAGES, reply_json(payload))
    with pytest.raises(MalformedResponseError):
        await images(fake).generate_image(ImageRequest(prompt="p", width=64, height=64))


async def test_image_429_and_timeout(fake: FakeServer) -> None:
    fake.on("POST", IMAGES, reply_error(429, "quota", {"retry-after-ms": "1500"}), reply_slow(8))
    with pytest.raises(RateLimitedError) as info:
        await images(fake).generate_image(ImageRequest(prompt="p", width=64, height=64))
    assert info.value.retry_after == 1.5
    provider = OpenAIImages(API_KEY, base_url=f"{fake.url}/v1", timeout=0.3)
    with pytest.raises(ProviderTimeoutError):
        await provider.generate_image(ImageRequest(prompt="p", width=64, height=64))


# ------------------------------------------------------------------ speech


def _wav_for_input(rec: object) -> Response:
    text = rec.json()["input"]  # type: ignore[attr-defined]
    return Response(wav_bytes(len(text) * 0.01), media_type="audio/wav")


async def test_speech_per_sentence_exact_timings(fake: FakeServer, tmp_path: Path) -> None:
    async def slow_wav(request, rec):
        import asyncio

        await asyncio.sleep(0.05)
        return _wav_for_input(rec)

    fake.on("POST", SPEECH, slow_wav)
    sentences = ("Hello there.", "This is the second sentence.", "Third one!", "Four.", "Five, the last.")
    out = tmp_path / "voice.wav"
    provider = OpenAISpeech(API_KEY, base_url=f"{fake.url}/v1", timeout=2.0, concurrency=2, pause=0.2)
    result = await provider.synthesize(
        SpeechRequest(sentences=sentences, output_path=out, voice="nova", speed=1.2)
    )

    assert len(fake.calls(SPEECH)) == len(sentences)
    assert fake.max_in_flight <= 2
    bodies = sorted((c.json() for c in fake.calls(SPEECH)), key=lambda b: sentences.index(b["input"]))
    assert all(b["voice"] == "nova" and b["response_format"] == "wav" and b["speed"] == 1.2 for b in bodies)

    expected_total = sum(len(s) * 0.01 for s in sentences) + 0.2 * (len(sentences) - 1)
    assert result.duration == pytest.approx(expected_total, abs=0.002)
    with wave.open(str(out)) as w:
        assert w.getframerate() == 24000 and w.getsampwidth() == 2 and w.getnchannels() == 1
        assert w.getnframes() / 24000 == pytest.approx(expected_total, abs=0.002)
    assert result.sample_rate == 24000
    t = 0.0
    for timed, sentence in zip(result.sentences, sentences, strict=True):
        assert timed.text == sentence
        assert timed.start == pytest.approx(t, abs=0.002)
        assert timed.end == pytest.approx(t + len(sentence) * 0.01, abs=0.002)
        t = timed.end + 0.2
    assert [w.text for w in result.words][:2] == ["Hello", "there."]
    assert result.words[-1].end == pytest.approx(result.sentences[-1].end, abs=0.002)
    assert result.usage.units == sum(len(s) for s in sentences)


async def test_speech_error_on_one_sentence_fails_the_call(fake: FakeServer, tmp_path: Path) -> None:
    fake.on("POST", SPEECH, reply_with(_wav_for_input), reply_error(503, "overloaded"))
    provider = OpenAISpeech(API_KEY, base_url=f"{fake.url}/v1", timeout=2.0, concurrency=1)
    with pytest.raises(TransientProviderError):
        await provider.synthesize(
            SpeechRequest(sentences=("One.", "Two.", "Three."), output_path=tmp_path / "a.wav")
        )
    assert not (tmp_path / "a.wav").exists()


async def test_speech_malformed_audio(fake: FakeServer, tmp_path: Path) -> None:
    fake.on("POST", SPEECH, reply_raw(b"ID3 this is an mp3", 200, "audio/mpeg"))
    provider = OpenAISpeech(API_KEY, base_url=f"{fake.url}/v1", timeout=2.0)
    with pytest.raises(MalformedResponseError):
        await provider.synthesize(SpeechRequest(sentences=("One.",), output_path=tmp_path / "a.wav"))


def test_read_wav_sized_and_streamed() -> None:
    assert read_wav(wav_bytes(0.5, streamed=True)).duration == pytest.approx(0.5)
    assert read_wav(wav_bytes(0.25, 16000, streamed=False)).sample_rate == 16000
    with pytest.raises(ValueError):
        read_wav(b"RIFF\x00\x00\x00\x00WAVE")


async def test_list_voices() -> None:
    voices = await OpenAISpeech("k").list_voices()
    assert {"alloy", "nova"} <= {v.id for v in voices}
    assert all(v.provider == "openai" for v in voices)
