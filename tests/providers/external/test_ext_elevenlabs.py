"""ElevenLabsSpeech through the real `elevenlabs` SDK against a local fake server."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import pytest
from ai_ext_fakes import (
    API_KEY,
    FakeServer,
    Recorded,
    b64,
    elevenlabs_alignment,
    pcm_bytes,
    reply_json,
    reply_raw,
    reply_slow,
    reply_with,
)
from starlette.responses import JSONResponse, Response

from providers.ai.base import (
    MalformedResponseError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
    SpeechRequest,
    TransientProviderError,
)
from providers.ai.elevenlabs import ElevenLabsSpeech, chunk_sentences
from providers.ai.errors import ProviderAuthError, ProviderRejectedError

TTS = r"^/v1/text-to-speech/[^/]+/with-timestamps$"
SPC = 0.05  # seconds per character in the fake alignment


def tts_answer(rec: Recorded) -> Response:
    """Audio exactly as long as the alignment says: SPC seconds per character."""
    text = rec.json()["text"]
    rate = int(rec.query["output_format"].removeprefix("pcm_"))
    return JSONResponse(
        {
            "audio_base64": b64(pcm_bytes(len(text) * SPC, rate)),
            "alignment": elevenlabs_alignment(text, SPC),
            "normalized_alignment": elevenlabs_alignment(text, SPC),
        }
    )


def eleven(fake: FakeServer, timeout: float = 2.0, **kw: object) -> ElevenLabsSpeech:
    return ElevenLabsSpeech(API_KEY, base_url=fake.url, timeout=timeout, **kw)  # type: ignore[arg-type]


async def test_synthesize_exact_timings_from_alignment(fake: FakeServer, tmp_path: Path) -> None:
    fake.on("POST", TTS, reply_with(tts_answer))
    sentences = ("Hello world.", "Second one here!")
    out = tmp_path / "v.wav"
    result = await eleven(fake).synthesize(
        SpeechRequest(sentences=sentences, output_path=out, voice="voice123")
    )

    (call,) = fake.calls(TTS)
    assert call.path == "/v1/text-to-speech/voice123/with-timestamps"
    assert call.query["output_format"] == "pcm_22050"
    assert call.json()["text"] == "Hello world. Second one here!"
    assert call.json()["model_id"] == "eleven_multilingual_v2"
    assert call.headers["xi-api-key"] == API_KEY

    total = len("Hello world. Second one here!") * SPC
    assert result.duration == pytest.approx(total, abs=0.001)
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (22050, 1, 2)
        assert w.getnframes() == round(total * 22050)
    first, second = result.sentences
    assert (first.start, first.text) == (0.0, "Hello world.")
    assert first.end == pytest.approx(12 * SPC)
    assert second.start == pytest.approx(13 * SPC)  # after "Hello world. "
    assert second.end == pytest.approx(total)
    assert [w.text for w in result.words] == ["Hello", "world.", "Second", "one", "here!"]
    assert result.words[1].start == pytest.approx(6 * SPC) and result.words[1].end == pytest.approx(12 * SPC)
    assert result.usage.units == len("Hello world. Second one here!")


async def test_long_text_is_chunked_and_offsets_accumulate(fake: FakeServer, tmp_path: Path) -> None:
    fake.on("POST", TTS, reply_with(tts_answer))
    sentences = tuple(f"Sentence number {i} is here." for i in range(8))  # 27 chars each
    result = await eleven(fake, max_chars=100).synthesize(
        SpeechRequest(sentences=sentences, output_path=tmp_path / "v.wav")
    )
    calls = fake.calls(TTS)
    assert len(calls) == 3  # 3 + 3 + 2 sentences of 27 chars (+ spaces) under 100
    assert "previous_text" in calls[1].json() and "next_text" in calls[1].json()
    chunk_1 = len(" ".join(sentences[:3])) * SPC
    assert result.sentences[3].start == pytest.approx(chunk_1, abs=0.001)
    assert result.sentences[-1].end == pytest.approx(result.duration, abs=0.001)
    starts = [s.start for s in result.sentences]
    assert starts == sorted(starts)


def test_chunk_sentences_keeps_offsets() -> None:
    chunks = chunk_sentences(["aa.", "", "bbb.", "c" * 20], max_chars=10)
    assert [c.text for c in chunks] == ["aa. bbb.", "c" * 20]
    assert chunks[0].spans == ((0, 0, 3), (2, 4, 8))


async def test_429_with_retry_after_and_no_sdk_retry(fake: FakeServer, tmp_path: Path) -> None:
    fake.on(
        "POST",
        TTS,
        reply_json({"detail": {"status": "too_many", "message": "busy"}}, 429, {"retry-after": "3"}),
    )
    with pytest.raises(RateLimitedError) as info:
        await eleven(fake).synthesize(SpeechRequest(sentences=("Hi.",), output_path=tmp_path / "v.wav"))
    assert info.value.retry_after == 3
    assert len(fake.calls(TTS)) == 1


async def test_500_and_timeout(fake: FakeServer, tmp_path: Path) -> None:
    fake.on("POST", TTS, reply_json({"detail": "oops"}, 500), reply_slow(8))
    req = SpeechRequest(sentences=("Hi.",), output_path=tmp_path / "v.wav")
    with pytest.raises(TransientProviderError, match="HTTP 500"):
        await eleven(fake).synthesize(req)
    assert len(fake.calls(TTS)) == 1
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        await eleven(fake, timeout=0.3).synthesize(req)
    assert time.monotonic() - started < 6  # gave up long before the 8 s answer


@pytest.mark.parametrize(
    "responder",
    [
        reply_raw(b"{not json", 200),
        reply_json({"audio_base64": "!!!", "alignment": elevenlabs_alignment("Hi.")}),
        reply_json({"audio_base64": b64(pcm_bytes(0.1))}),
        reply_json(
            {
                "audio_base64": b64(pcm_bytes(0.1)),
                "alignment": {
                    "characters": ["H"],
                    "character_start_times_seconds": [],
                    "character_end_times_seconds": [],
                },
            }
        ),
    ],
)
async def test_malformed(fake: FakeServer, tmp_path: Path, responder: object) -> None:
    fake.on("POST", TTS, responder)
    with pytest.raises(MalformedResponseError):
        await eleven(fake).synthesize(SpeechRequest(sentences=("Hi.",), output_path=tmp_path / "v.wav"))


async def test_bad_key(fake: FakeServer, tmp_path: Path) -> None:
    fake.on(
        "POST",
        TTS,
        reply_json({"detail": {"status": "invalid_api_key", "message": f"Invalid key {API_KEY}"}}, 401),
    )
    with pytest.raises(ProviderAuthError) as info:
        await eleven(fake).synthesize(SpeechRequest(sentences=("Hi.",), output_path=tmp_path / "v.wav"))
    assert API_KEY not in str(info.value)
    assert API_KEY not in repr(eleven(fake))


async def test_list_voices(fake: FakeServer) -> None:
    fake.on(
        "GET",
        r"^/v1/voices$",
        reply_json(
            {
                "voices": [
                    {
                        "voice_id": "v1",
                        "name": "Rachel",
                        "labels": {"gender": "female", "language": "en"},
                        "preview_url": "http://x/p.mp3",
                    },
                    {
                        "voice_id": "v2",
                        "name": "Clone",
                        "verified_languages": [{"language": "de", "model_id": "m"}],
                    },
                    {"voice_id": "v3"},
                ]
            }
        ),
    )
    voices = await eleven(fake).list_voices()
    assert [(v.id, v.name, v.language, v.gender) for v in voices] == [
        ("v1", "Rachel", "en", "female"),
        ("v2", "Clone", "de", None),
        ("v3", "v3", "multi", None),
    ]
    assert voices[0].preview_url == "http://x/p.mp3" and voices[0].provider == "elevenlabs"


async def test_clone_voice(fake: FakeServer) -> None:
    fake.on(
        "POST",
        r"^/v1/voices/add$",
        reply_json({"voice_id": "new-voice", "requires_verification": False}),
        reply_json({"voice_id": "held", "requires_verification": True}),
    )
    voice = await eleven(fake).clone_voice("My voice", b"RIFF-sample-bytes")
    assert (voice.id, voice.name, voice.provider) == ("new-voice", "My voice", "elevenlabs")
    (call,) = fake.calls(r"/v1/voices/add$")
    assert call.headers["content-type"].startswith("multipart/form-data")
    assert b"RIFF-sample-bytes" in call.body and b"My voice" in call.body
    with pytest.raises(ProviderRejectedError, match="verification"):
        await eleven(fake).clone_voice("Other", b"x")


def test_needs_key() -> None:
    with pytest.raises(ProviderUnavailableError):
        ElevenLabsSpeech(None)
