"""The one interface every AI provider speaks, per kind: text, image, speech.

Providers are leaves: they know nothing of users, quotas, the database or
GraphQL. They turn a request into a result (plus usage figures the caller
prices and logs), or raise a ProviderError that says whether trying again or
trying another provider can help.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

Kind = Literal["text", "image", "speech"]


# ------------------------------------------------------------------ errors


class ProviderError(Exception):
    """A provider call failed. `transient` failures (timeouts, 429, 5xx,
    malformed answers) are worth retrying or falling back; permanent ones
    (bad request, bad credentials, content refused) are not retried on the
    same provider but the chain may still try the next one."""

    transient: bool = False

    def __init__(self, provider: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = message
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[object, ...]:
        # Offline providers run in worker processes (media.processes): errors cross back whole.
        return (_restore_error, (type(self), self.args, self.__dict__))


def _restore_error(
    cls: type[ProviderError], args: tuple[object, ...], state: dict[str, object]
) -> ProviderError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class TransientProviderError(ProviderError):
    transient = True


class RateLimitedError(TransientProviderError):
    """HTTP 429 or the provider's equivalent; `retry_after` in seconds when told."""


class ProviderTimeoutError(TransientProviderError):
    pass


class MalformedResponseError(TransientProviderError):
    """The provider answered, but not with what we asked for."""


class PermanentProviderError(ProviderError):
    transient = False


class ProviderUnavailableError(PermanentProviderError):
    """Not configured (no key) or its circuit breaker is open."""


class AllProvidersFailedError(Exception):
    """Every provider in a chain failed; `failures` names each one's failure."""

    def __init__(self, kind: str, failures: list[tuple[str, ProviderError]]) -> None:
        self.kind = kind
        self.failures = failures
        detail = "; ".join(f"{name}: {err.message}" for name, err in failures) or "no provider configured"
        super().__init__(f"every {kind} provider failed ({detail})")

    @property
    def transient(self) -> bool:
        return any(err.transient for _, err in self.failures)


# ------------------------------------------------------------------ usage


@dataclass(frozen=True)
class Usage:
    """What a call consumed, for pricing and the ai_generations log.
    `units` is tokens for text, images for image, characters for speech."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    units: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


# ------------------------------------------------------------------ text


@dataclass(frozen=True)
class ScriptRequest:
    topic: str
    """Topic or instructions."""
    target_seconds: float
    language: str = "en"
    own_script: str | None = None
    """When given, split and pace this text instead of writing one."""
    title: str | None = None
    words_per_minute: int = 150
    tone: str | None = None


@dataclass(frozen=True)
class ScriptScene:
    index: int
    narration: str
    """What the voice says in this scene."""
    visual: str
    """A description of what the picture shows (the image prompt)."""
    keywords: tuple[str, ...] = ()
    estimated_seconds: float = 0.0
    heading: str | None = None
    """A short on-screen title for the scene, when it has one."""


@dataclass(frozen=True)
class Seo:
    title: str
    description: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Script:
    title: str
    scenes: tuple[ScriptScene, ...]
    seo: Seo
    language: str = "en"

    @property
    def narration(self) -> str:
        return "\n\n".join(s.narration for s in self.scenes)


@dataclass(frozen=True)
class ScriptResult:
    script: Script
    usage: Usage


@runtime_checkable
class TextProvider(Protocol):
    name: str

    async def write_script(self, request: ScriptRequest) -> ScriptResult: ...


# ------------------------------------------------------------------ image


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    width: int
    height: int
    scene_index: int = 0
    heading: str | None = None
    """Large text to draw on the picture where the provider can (offline one)."""
    keywords: tuple[str, ...] = ()
    seed: str = ""
    """Stable per video so re-renders look the same; differs per scene."""


@dataclass(frozen=True)
class ImageResult:
    data: bytes
    mime_type: str  # image/png or image/jpeg
    width: int
    height: int
    usage: Usage


@runtime_checkable
class ImageProvider(Protocol):
    name: str

    async def generate_image(self, request: ImageRequest) -> ImageResult: ...


# ------------------------------------------------------------------ speech


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    language: str
    provider: str
    gender: str | None = None
    preview_url: str | None = None


@dataclass(frozen=True)
class SpeechRequest:
    sentences: tuple[str, ...]
    """Narration already split into sentences; timings come back per sentence."""
    output_path: Path
    """Where to write the audio: a WAV file (PCM 16-bit)."""
    voice: str | None = None
    language: str = "en"
    speed: float = 1.0
    progress: ProgressSink | None = field(default=None, compare=False, repr=False)
    """Told `report(sentences done, sentences)` as the speech is made (may cross processes:
    the caller passes a picklable sink); not part of what is asked, so not of the cache key."""


class ProgressSink(Protocol):
    def report(self, done: float, total: float) -> None: ...


def report_progress(request: SpeechRequest, done: int, total: int) -> None:
    if request.progress is not None:
        request.progress.report(done, total)


@dataclass(frozen=True)
class TimedText:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class SpeechResult:
    path: Path
    duration: float
    sample_rate: int
    sentences: tuple[TimedText, ...]
    words: tuple[TimedText, ...] = ()
    usage: Usage = field(default_factory=lambda: Usage(model=""))


DEFAULT_WORDS_PER_MINUTE = 155
"""Typical pace of neural TTS voices, pauses included; a provider may say its own."""


def speaking_pace(provider: object) -> int:
    """Words per minute a speech provider speaks (its `words_per_minute`, else the default)."""
    pace = getattr(provider, "words_per_minute", None)
    return int(pace) if isinstance(pace, (int, float)) and pace > 0 else DEFAULT_WORDS_PER_MINUTE


@runtime_checkable
class SpeechProvider(Protocol):
    name: str

    async def synthesize(self, request: SpeechRequest) -> SpeechResult: ...

    async def list_voices(self) -> list[Voice]: ...
