"""Error mapping shared by every adapter, and connection failures through each real SDK."""

from __future__ import annotations

import email.utils
import json
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from ai_ext_fakes import API_KEY

from providers.ai.anthropic import ClaudeText
from providers.ai.base import (
    ImageRequest,
    MalformedResponseError,
    RateLimitedError,
    ScriptRequest,
    SpeechRequest,
    TransientProviderError,
)
from providers.ai.elevenlabs import ElevenLabsSpeech
from providers.ai.errors import (
    ProviderAuthError,
    ProviderRejectedError,
    counts_against_provider,
    from_status,
    parse_retry_after,
    scrub,
)
from providers.ai.gemini import GeminiImages, GeminiText
from providers.ai.openai import OpenAIImages, OpenAISpeech, OpenAIText
from providers.ai.prompts import extract_json_object, normalize_words, target_words


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "30"}) == 30
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert parse_retry_after({"Retry-After": date}) == pytest.approx(60, abs=2)
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_from_status_classes() -> None:
    assert isinstance(from_status("p", 429, headers={"retry-after": "2"}), RateLimitedError)
    assert type(from_status("p", 503)) is TransientProviderError
    assert type(from_status("p", 408)) is TransientProviderError
    auth = from_status("p", 401, detail=f"bad key {API_KEY}")
    assert isinstance(auth, ProviderAuthError) and API_KEY not in str(auth)
    assert isinstance(from_status("p", 422), ProviderRejectedError)
    assert counts_against_provider(auth)
    assert counts_against_provider(from_status("p", 500))
    assert not counts_against_provider(from_status("p", 400))


def test_scrub_removes_keys() -> None:
    text = scrub(
        "key sk-proj-abcdefghijklmnop, google AIzaSyA1234567890abcdef, Authorization: Bearer tok.en-123, "
        "my own secret-value-42",
        secrets=["secret-value-42"],
    )
    for leaked in ("sk-proj-abcdefghijklmnop", "AIzaSyA1234567890abcdef", "tok.en-123", "secret-value-42"):
        assert leaked not in text
    assert scrub("x" * 1000).endswith("…")


def test_prompt_helpers() -> None:
    assert target_words(ScriptRequest(topic="t", target_seconds=90, words_per_minute=140)) == 210
    assert extract_json_object("p", 'Sure! {"a": 1} Hope it helps') == {"a": 1}
    with pytest.raises(MalformedResponseError):
        extract_json_object("p", "   ")
    assert normalize_words("It\u2019s  \n fine") == "It's fine"


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def _text(p: OpenAIText | ClaudeText | GeminiText) -> object:
    return await p.write_script(ScriptRequest(topic="t", target_seconds=10))


def _cases(url: str, tmp: Path) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    speech = SpeechRequest(sentences=("Hi.",), output_path=tmp / "x.wav")
    image = ImageRequest(prompt="p", width=64, height=64)
    return [
        ("openai-text", lambda: _text(OpenAIText(API_KEY, base_url=f"{url}/v1", timeout=1))),
        (
            "openai-image",
            lambda: OpenAIImages(API_KEY, base_url=f"{url}/v1", timeout=1).generate_image(image),
        ),
        ("openai-speech", lambda: OpenAISpeech(API_KEY, base_url=f"{url}/v1", timeout=1).synthesize(speech)),
        ("claude", lambda: _text(ClaudeText(API_KEY, base_url=url, timeout=1))),
        ("gemini-text", lambda: _text(GeminiText(API_KEY, base_url=url, timeout=1))),
        ("gemini-image", lambda: GeminiImages(API_KEY, base_url=url, timeout=1).generate_image(image)),
        ("elevenlabs", lambda: ElevenLabsSpeech(API_KEY, base_url=url, timeout=1).synthesize(speech)),
    ]


async def test_connection_refused_is_transient_and_fast_for_every_adapter(tmp_path: Path) -> None:
    """No SDK may retry (or sleep) on its own: Gemini's aiohttp path would sleep 1-10 s."""
    url = _closed_port_url()
    for label, call in _cases(url, tmp_path):
        started = time.monotonic()
        with pytest.raises(TransientProviderError) as info:
            await call()
        assert time.monotonic() - started < 2.5, label  # an SDK retry would sleep 1-10 s each
        assert "connect" in info.value.message, (label, info.value.message)
        assert API_KEY not in json.dumps(info.value.message)
