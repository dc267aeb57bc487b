"""AI generation for the pipeline and the studio: provider chains with fallback, and the
`ai_generations` log of every attempt (who, what, which provider and model, tokens, cost, time)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.ai import AIGeneration, AIRepository
from persistence.enums import GenerationStatus, GenerationType
from providers.ai.base import (
    ImageProvider,
    ImageRequest,
    ImageResult,
    ProviderError,
    ProviderUnavailableError,
    ScriptRequest,
    ScriptResult,
    SpeechProvider,
    SpeechRequest,
    SpeechResult,
    TextProvider,
    Usage,
)
from providers.ai.chain import ChainFailedError, FallbackChain, price_usd

log = logging.getLogger(__name__)
T = TypeVar("T")

# USD per unit: per 1k input/output tokens for text, per image, per 1k characters for speech.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {"input_per_1k": 0.00015, "output_per_1k": 0.0006},
    "gpt-image-1": {"per_unit": 0.04},
    "gpt-4o-mini-tts": {"per_1k_units": 0.015},
    "claude-sonnet-4-6": {"input_per_1k": 0.003, "output_per_1k": 0.015},
    "gemini-2.5-flash": {"input_per_1k": 0.0003, "output_per_1k": 0.0025},
    "imagen-4.0-generate-001": {"per_unit": 0.04},
    "eleven_multilingual_v2": {"per_1k_units": 0.18},
}


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def build_text_providers(settings: Any) -> list[TextProvider]:
    from providers.ai.offline import OfflineScriptWriter

    out: list[Any] = []
    for name in settings.text_providers:
        try:
            if name == "openai" and settings.openai_api_key:
                from providers.ai.openai import OpenAIText

                out.append(OpenAIText(api_key=_secret(settings.openai_api_key), base_url=settings.openai_base_url,
                                      model=settings.openai_text_model, timeout=settings.ai_timeout_seconds,
                                      json_mode=settings.openai_json_mode))
            elif name == "anthropic" and settings.anthropic_api_key:
                from providers.ai.anthropic import ClaudeText

                out.append(ClaudeText(api_key=_secret(settings.anthropic_api_key), base_url=settings.anthropic_base_url,
                                      model=settings.anthropic_model, timeout=settings.ai_timeout_seconds))
            elif name == "gemini" and settings.gemini_api_key:
                from providers.ai.gemini import GeminiText

                out.append(GeminiText(api_key=_secret(settings.gemini_api_key), base_url=settings.gemini_base_url,
                                      model=settings.gemini_text_model, timeout=settings.ai_timeout_seconds))
            elif name == "offline":
                out.append(OfflineScriptWriter())
        except (ProviderUnavailableError, TypeError) as exc:
            log.warning("text provider %s not available: %s", name, exc)
    if not any(getattr(p, "name", "") == "offline" for p in out):
        out.append(OfflineScriptWriter())  # the last resort always works
    return out


def build_image_providers(settings: Any) -> list[ImageProvider]:
    from providers.ai.offline import ProceduralImages

    out: list[Any] = []
    for name in settings.image_providers:
        try:
            if name == "openai" and settings.openai_api_key:
                from providers.ai.openai import OpenAIImages

                out.append(OpenAIImages(api_key=_secret(settings.openai_api_key), base_url=settings.openai_base_url,
                                        model=settings.openai_image_model, timeout=settings.ai_timeout_seconds))
            elif name == "gemini" and settings.gemini_api_key:
                from providers.ai.gemini import GeminiImages

                out.append(GeminiImages(api_key=_secret(settings.gemini_api_key), base_url=settings.gemini_base_url,
                                        model=settings.gemini_image_model, timeout=settings.ai_timeout_seconds))
            elif name == "procedural":
                out.append(ProceduralImages())
        except (ProviderUnavailableError, TypeError) as exc:
            log.warning("image provider %s not available: %s", name, exc)
    if not any(getattr(p, "name", "") == "procedural" for p in out):
        out.append(ProceduralImages())
    return out


def build_speech_providers(settings: Any) -> list[SpeechProvider]:
    from providers.ai.offline import PiperSpeech

    out: list[Any] = []
    for name in settings.speech_providers:
        try:
            if name == "elevenlabs" and settings.elevenlabs_api_key:
                from providers.ai.elevenlabs import ElevenLabsSpeech

                out.append(ElevenLabsSpeech(api_key=_secret(settings.elevenlabs_api_key),
                                            base_url=settings.elevenlabs_base_url, model=settings.elevenlabs_model,
                                            timeout=settings.ai_timeout_seconds))
            elif name == "openai" and settings.openai_api_key:
                from providers.ai.openai import OpenAISpeech

                out.append(OpenAISpeech(api_key=_secret(settings.openai_api_key), base_url=settings.openai_base_url,
                                        model=settings.openai_speech_model, timeout=settings.ai_timeout_seconds))
            elif name == "piper":
                out.append(PiperSpeech())
        except (ProviderUnavailableError, TypeError) as exc:
            log.warning("speech provider %s not available: %s", name, exc)
    if not any(getattr(p, "name", "") == "piper" for p in out):
        out.append(PiperSpeech())
    return out


@dataclass
class AIChains:
    text: FallbackChain[TextProvider]
    image: FallbackChain[ImageProvider]
    speech: FallbackChain[SpeechProvider]

    @classmethod
    def from_settings(cls, settings: Any) -> AIChains:
        return cls(
            text=FallbackChain("text", build_text_providers(settings)),
            image=FallbackChain("image", build_image_providers(settings)),
            speech=FallbackChain("speech", build_speech_providers(settings)),
        )


def chains_for(resources: Any) -> AIChains:
    """One set of chains (and so of circuit breakers) per process."""
    chains = resources.extras.get("ai_chains")
    if chains is None:
        chains = AIChains.from_settings(resources.settings)
        resources.extras["ai_chains"] = chains
    return chains  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    video_id: uuid.UUID | None = None


class AIService:
    """Runs a provider chain and writes one ai_generations row per attempt in its own
    transaction, so the log survives whatever happens to the caller's transaction."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], chains: AIChains,
                 prices: dict[str, dict[str, float]] | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.chains = chains
        self.prices = prices or DEFAULT_PRICES

    async def write_script(self, caller: Caller, request: ScriptRequest) -> ScriptResult:
        prompt = request.own_script or request.topic
        params = {"target_seconds": request.target_seconds, "language": request.language,
                  "own_script": request.own_script is not None}
        return await self._run(caller, GenerationType.TEXT, self.chains.text, lambda p: p.write_script(request),
                               prompt, params, lambda r: r.usage)

    async def generate_image(self, caller: Caller, request: ImageRequest) -> ImageResult:
        params = {"width": request.width, "height": request.height, "scene": request.scene_index}
        return await self._run(caller, GenerationType.IMAGE, self.chains.image, lambda p: p.generate_image(request),
                               request.prompt, params, lambda r: r.usage)

    async def synthesize(self, caller: Caller, request: SpeechRequest) -> SpeechResult:
        text = " ".join(request.sentences)
        params = {"voice": request.voice, "language": request.language, "speed": request.speed}
        return await self._run(caller, GenerationType.AUDIO, self.chains.speech, lambda p: p.synthesize(request),
                               text, params, lambda r: r.usage)

    async def _run(
        self,
        caller: Caller,
        kind: GenerationType,
        chain: FallbackChain[Any],
        op: Callable[[Any], Awaitable[T]],
        prompt: str,
        params: dict[str, Any],
        usage_of: Callable[[T], Usage],
    ) -> T:
        started = time.perf_counter()
        try:
            outcome = await chain.call(op)
        except ChainFailedError as exc:
            await self._log_attempts(caller, kind, prompt, params, exc.attempts, None, None)
            raise
        await self._log_attempts(caller, kind, prompt, params, outcome.attempts, usage_of(outcome.result),
                                 round((time.perf_counter() - started) * 1000))
        return outcome.result

    async def _log_attempts(self, caller: Caller, kind: GenerationType, prompt: str, params: dict[str, Any],
                            attempts: list[Any], usage: Usage | None, total_ms: int | None) -> None:
        now = datetime.now(UTC)
        rows = []
        for attempt in attempts:
            ok = attempt.ok
            cost = price_usd(usage, self.prices) if ok and usage is not None else None
            rows.append(AIGeneration(
                user_id=caller.user_id,
                video_id=caller.video_id,
                type=kind,
                provider=attempt.provider,
                model=(usage.model if ok and usage else None) or attempt.model,
                prompt=prompt[:20000],
                parameters=params,
                tokens_used=usage.tokens if ok and usage and usage.tokens else None,
                cost_usd=Decimal(str(round(cost, 4))) if cost is not None else None,
                processing_time_ms=int(attempt.duration_ms),
                status=GenerationStatus.COMPLETED if ok else GenerationStatus.FAILED,
                error_message=None if ok else _attempt_error(attempt.error),
                completed_at=now,
            ))
        if not rows:
            return
        try:
            async with self.sessionmaker() as session, session.begin():
                repo = AIRepository(session)
                for row in rows:
                    repo.add_generation(row)
        except Exception:
            log.exception("could not log AI generations")


def _attempt_error(error: ProviderError | None) -> str | None:
    return error.message[:1000] if error is not None else None


async def list_generations(session: AsyncSession, principal: Any, *, limit: int,
                           after: tuple[datetime, uuid.UUID] | None, type_: GenerationType | None
                           ) -> tuple[list[AIGeneration], bool, int]:
    """The signed-in user's generation log, newest first."""
    user_id = principal.require_user()
    repo = AIRepository(session)
    rows = await repo.generations_page(user_id, limit=limit + 1, after=after, type_=type_)
    return rows[:limit], len(rows) > limit, await repo.count_generations(user_id, type_)
