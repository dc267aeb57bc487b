"""Fixtures for the AI tests: stub providers that count their calls, the local fake provider
server (OpenAI wire protocol), users with roles."""

from __future__ import annotations

import uuid
import wave
from collections.abc import Iterator
from typing import Any

import pytest

from domain.ai.chains import AIChains
from persistence.enums import GenerationType, Role
from providers.ai.base import (
    ImageRequest,
    ImageResult,
    Script,
    ScriptRequest,
    ScriptResult,
    ScriptScene,
    Seo,
    SpeechRequest,
    SpeechResult,
    TimedText,
    TransientProviderError,
    Usage,
    Voice,
)
from providers.ai.chain import FallbackChain
from tests.factories import make_user, principal_for
from tests.providers.external.ai_ext_fakes import FakeServer, png_bytes, start_server


class StubText:
    """An 'external' text provider (named like the real one) that counts calls."""

    def __init__(self, name: str = "openai", model: str = "gpt-4o-mini", fail: bool = False) -> None:
        self.name, self.model, self.fail, self.calls = name, model, fail, 0

    async def write_script(self, request: ScriptRequest) -> ScriptResult:
        self.calls += 1
        if self.fail:
            raise TransientProviderError(self.name, "HTTP 500 from the stub")
        scene = ScriptScene(
            index=0,
            narration=f"All about {request.topic}. Call {self.calls}.",
            visual="a picture",
            keywords=("k1", "k2"),
            heading="Heading",
        )
        script = Script(
            title=f"{request.topic} ({request.target_seconds:g}s)",
            scenes=(scene,),
            seo=Seo(title="SEO", description="Desc", keywords=("a", "b")),
            language=request.language,
        )
        return ScriptResult(script=script, usage=Usage(model=self.model, input_tokens=100, output_tokens=200))


class StubImages:
    def __init__(self, name: str = "openai", fail: bool = False) -> None:
        self.name, self.model, self.fail, self.calls = name, "gpt-image-1", fail, 0

    async def generate_image(self, request: ImageRequest) -> ImageResult:
        self.calls += 1
        if self.fail:
            raise TransientProviderError(self.name, "HTTP 500 from the stub")
        color = (self.calls * 40 % 255, 10, 10)  # a second real call would give different bytes
        return ImageResult(
            data=png_bytes(request.width, request.height, color),
            mime_type="image/png",
            width=request.width,
            height=request.height,
            usage=Usage(model=self.model, units=1),
        )


class StubSpeech:
    def __init__(self, name: str = "elevenlabs") -> None:
        self.name, self.model, self.calls = name, "eleven_multilingual_v2", 0

    async def list_voices(self) -> list[Voice]:
        return [Voice(id="stub-voice", name="Stub", language="en", provider=self.name)]

    async def synthesize(self, request: SpeechRequest) -> SpeechResult:
        self.calls += 1
        rate, per = 16000, 0.5 + 0.01 * self.calls
        request.output_path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(request.output_path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(b"\x01\x00" * int(rate * per * len(request.sentences)))
        timings = tuple(TimedText(i * per, (i + 1) * per, s) for i, s in enumerate(request.sentences))
        return SpeechResult(
            path=request.output_path,
            duration=per * len(request.sentences),
            sample_rate=rate,
            sentences=timings,
            usage=Usage(model=self.model, units=sum(map(len, request.sentences))),
        )


def stub_chains(resources: Any, text: Any = None, image: Any = None, speech: Any = None) -> AIChains:
    """Install chains of [stub, offline] per kind as the process's chains (no metrics)."""
    from providers.ai.offline import OfflineScriptWriter, PiperSpeech, ProceduralImages

    def chain(kind: str, stub: Any, offline: Any) -> FallbackChain[Any]:
        return FallbackChain(kind, ([stub] if stub is not None else []) + [offline], metrics=False)

    chains = AIChains(
        text=chain("text", text, OfflineScriptWriter()),
        image=chain("image", image, ProceduralImages()),
        speech=chain("speech", speech, PiperSpeech()),
        settings=resources.settings,
    )
    resources.ai_chains = chains
    return chains


async def new_user(session: Any, role: Role = Role.CREATOR) -> tuple[Any, Any]:
    user = await make_user(session, roles=(role,))
    await session.commit()
    return user, principal_for(user, (role,))


async def quota_used(
    resources: Any, user_id: uuid.UUID, kind: GenerationType = GenerationType.TEXT
) -> dict[str, int]:
    from persistence.ai import AIRepository

    async with resources.sessionmaker() as s:
        rows = await AIRepository(s).quotas(user_id)
    return {r.period.name: r.used_amount for r in rows if r.type is kind}


@pytest.fixture(scope="session")
def _fake_provider_server() -> Iterator[FakeServer]:
    fake, stop = start_server()
    yield fake
    stop()


@pytest.fixture
def fake(_fake_provider_server: FakeServer) -> Iterator[FakeServer]:
    _fake_provider_server.reset()
    yield _fake_provider_server
    _fake_provider_server.reset()
