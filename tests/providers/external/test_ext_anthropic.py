"""ClaudeText through the real `anthropic` SDK against a local fake server."""

from __future__ import annotations

import json
import time

import pytest
from ai_ext_fakes import (
    API_KEY,
    FakeServer,
    anthropic_message,
    reply_error,
    reply_json,
    reply_slow,
    script_payload,
)

from providers.ai.anthropic import ClaudeText
from providers.ai.base import (
    MalformedResponseError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
    ScriptRequest,
    TransientProviderError,
)
from providers.ai.errors import ProviderAuthError, ProviderRejectedError

MESSAGES = r"^/v1/messages$"
REQ = ScriptRequest(topic="the moon", target_seconds=30, words_per_minute=160, tone="playful")


def claude(fake: FakeServer, timeout: float = 2.0) -> ClaudeText:
    return ClaudeText(API_KEY, base_url=fake.url, model="claude-test", timeout=timeout)


async def test_success_parses_text_block_and_usage(fake: FakeServer) -> None:
    answer = "Here is your script:\n" + json.dumps(script_payload(("One two three.",)))
    fake.on("POST", MESSAGES, reply_json(anthropic_message(answer, input_tokens=90, output_tokens=210)))
    result = await claude(fake).write_script(REQ)
    assert [s.narration for s in result.script.scenes] == ["One two three."]
    assert (result.usage.model, result.usage.input_tokens, result.usage.output_tokens) == (
        "claude-test",
        90,
        210,
    )
    (call,) = fake.calls(MESSAGES)
    body = call.json()
    assert body["model"] == "claude-test"
    assert "JSON" in body["system"]
    assert "about 80 words" in body["messages"][0]["content"]  # 30 s x 160 wpm / 60
    assert "playful" in body["messages"][0]["content"]
    assert body["max_tokens"] > 0
    # this SDK release sends the key as a bearer token; older ones used x-api-key
    assert API_KEY in (
        call.headers.get("x-api-key"),
        call.headers.get("authorization", "").removeprefix("Bearer "),
    )


async def test_429_with_retry_after(fake: FakeServer) -> None:
    fake.on("POST", MESSAGES, reply_error(429, "rate", {"retry-after": "12"}))
    with pytest.raises(RateLimitedError) as info:
        await claude(fake).write_script(REQ)
    assert info.value.retry_after == 12
    assert len(fake.calls(MESSAGES)) == 1


@pytest.mark.parametrize("status", [500, 529])
async def test_5xx_and_overloaded_are_transient(fake: FakeServer, status: int) -> None:
    fake.on("POST", MESSAGES, reply_error(status, "down"))
    with pytest.raises(TransientProviderError) as info:
        await claude(fake).write_script(REQ)
    assert str(status) in info.value.message
    assert len(fake.calls(MESSAGES)) == 1


async def test_timeout(fake: FakeServer) -> None:
    fake.on("POST", MESSAGES, reply_slow(8))
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        await claude(fake, timeout=0.3).write_script(REQ)
    assert time.monotonic() - started < 6  # gave up long before the 8 s answer


async def test_malformed_json_and_cut_off(fake: FakeServer) -> None:
    fake.on(
        "POST",
        MESSAGES,
        reply_json(anthropic_message('{"title": "t", "scenes": [{"narration": ')),
        reply_json(anthropic_message(json.dumps(script_payload()), stop_reason="max_tokens")),
    )
    with pytest.raises(MalformedResponseError, match=r"invalid JSON|not JSON"):
        await claude(fake).write_script(REQ)
    with pytest.raises(MalformedResponseError, match="cut off"):
        await claude(fake).write_script(REQ)


async def test_auth_and_bad_request(fake: FakeServer) -> None:
    fake.on(
        "POST",
        MESSAGES,
        reply_error(401, f"invalid x-api-key {API_KEY}"),
        reply_error(400, "prompt too long"),
    )
    with pytest.raises(ProviderAuthError) as info:
        await claude(fake).write_script(REQ)
    assert API_KEY not in str(info.value)
    with pytest.raises(ProviderRejectedError, match="prompt too long"):
        await claude(fake).write_script(REQ)


def test_needs_a_key_and_hides_it() -> None:
    with pytest.raises(ProviderUnavailableError):
        ClaudeText("")
    assert API_KEY not in repr(ClaudeText(API_KEY))
