"""AI generation for the pipeline and the studio: provider chains with fallback, quotas, a result
cache, users' own keys (BYOK), and the `ai_generations` log of every attempt (who, what, which
provider and model, tokens, cost, time; cache hits as status `cached`).

Who gets which providers (per call, per user):
  - offline providers ("offline" text, "procedural" images, "piper" speech) are free, unlimited
    and always last in every chain;
  - the server's external providers (configured keys) only for users holding PREMIUM (or ADMIN /
    SUPER_ADMIN); CREATOR users get the offline chain;
  - a user's own key (ProviderCredential) puts that provider first in that user's chains, whatever
    their role; calls on an own key are paid by the user and are not metered.
Quota (domain/quota.py): 1 unit per call (a script, an image, one narration) is reserved before a
call whose chain contains a server-paid external provider, and given back when the call fails or
ends up on an unmetered provider. Cache hits cost nothing. When the reservation is refused the
pipeline carries on with the unmetered providers (a video always gets made); studio calls
(Caller.on_quota="raise") fail with QUOTA_EXCEEDED unless an own key is available.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain import video_input as video_rules
from domain.ai_cache import AICache, digest
from domain.errors import BadInput, QuotaExceeded
from domain.quota import QuotaService
from domain.transactions import separate_read, separate_transaction
from domain.uploads import audio_type
from persistence.ai import AIGeneration, AIRepository, ProviderCredential
from persistence.enums import GenerationStatus, GenerationType, Role
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
    Voice,
)
from providers.ai.breaker import BreakerState, CircuitBreaker
from providers.ai.chain import ChainFailedError, FallbackChain, price_usd
from providers.net import OutboundPolicy

if TYPE_CHECKING:
    from domain.identity import Principal
    from runtime.resources import Resources

log = logging.getLogger(__name__)
T = TypeVar("T")

# price_usd's table: USD per million input/output tokens (text), per unit (an image; a character
# of speech). Longest model-name prefix wins, so dated model names match.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.60},
    "gpt-image-1": {"per_unit": 0.04},
    "gpt-4o-mini-tts": {"per_unit": 0.000015},
    "claude-sonnet-4-6": {"input_per_mtok": 3.0, "output_per_mtok": 15.0},
    "gemini-2.5-flash": {"input_per_mtok": 0.30, "output_per_mtok": 2.50},
    "imagen-4.0-generate-001": {"per_unit": 0.04},
    "eleven_multilingual_v2": {"per_unit": 0.00018},
}

OFFLINE_PROVIDERS = frozenset({"offline", "procedural", "piper"})
EXTERNAL_ROLES = frozenset({Role.PREMIUM, Role.ADMIN, Role.SUPER_ADMIN})
CAPABLE: dict[str, tuple[str, ...]] = {
    "text": ("openai", "anthropic", "gemini"),
    "image": ("openai", "gemini"),
    "speech": ("elevenlabs", "openai"),
}
BYOK_PROVIDERS = ("openai", "anthropic", "gemini", "elevenlabs")
KIND_OF = {GenerationType.TEXT: "text", GenerationType.IMAGE: "image", GenerationType.AUDIO: "speech"}


def is_offline(provider: Any) -> bool:
    return getattr(provider, "name", provider) in OFFLINE_PROVIDERS


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def server_key(settings: Any, name: str) -> tuple[str | None, str | None]:
    """The server's (api_key, base_url) for an external provider."""
    return _secret(getattr(settings, f"{name}_api_key", None)), getattr(settings, f"{name}_base_url", None)


def make_external(
    kind: str,
    name: str,
    settings: Any,
    api_key: str | None,
    base_url: str | None,
    *,
    outbound: OutboundPolicy | None = None,
) -> Any | None:
    """An external provider of `kind` with the given key, or None (cannot do that kind, or the SDK
    refuses the configuration). `outbound` checks its every connection (users' own keys)."""
    common: dict[str, Any] = {
        "api_key": api_key,
        "base_url": base_url,
        "timeout": settings.ai_timeout_seconds,
        "outbound": outbound,
    }
    try:
        if kind == "text":
            if name == "openai":
                from providers.ai.openai import OpenAIText

                return OpenAIText(
                    model=settings.openai_text_model, json_mode=settings.openai_json_mode, **common
                )
            if name == "anthropic":
                from providers.ai.anthropic import ClaudeText

                return ClaudeText(model=settings.anthropic_model, **common)
            if name == "gemini":
                from providers.ai.gemini import GeminiText

                return GeminiText(model=settings.gemini_text_model, **common)
        elif kind == "image":
            if name == "openai":
                from providers.ai.openai import OpenAIImages

                return OpenAIImages(model=settings.openai_image_model, **common)
            if name == "gemini":
                from providers.ai.gemini import GeminiImages

                return GeminiImages(model=settings.gemini_image_model, **common)
        elif kind == "speech":
            if name == "elevenlabs":
                from providers.ai.elevenlabs import ElevenLabsSpeech

                return ElevenLabsSpeech(model=settings.elevenlabs_model, **common)
            if name == "openai":
                from providers.ai.openai import OpenAISpeech

                return OpenAISpeech(model=settings.openai_speech_model, **common)
    except (ProviderUnavailableError, TypeError) as exc:
        log.warning("%s provider %s not available: %s", kind, name, exc)
    return None


def own_key_policy(settings: Any) -> OutboundPolicy:
    """Where connections made with a user's own key may go: public addresses only (unless
    AUTOVIDEO_ALLOW_PRIVATE_PROVIDER_URLS), on AUTOVIDEO_OUTBOUND_ALLOWED_PORTS."""
    return OutboundPolicy(allow_private=settings.private_provider_urls_allowed, ports=settings.outbound_ports)


def make_own(kind: str, name: str, settings: Any, api_key: str, base_url: str | None) -> Any | None:
    """A provider on a user's own key: every connection is checked when it is made (own_key_policy,
    providers/net.py); with the user's own base URL, its failures are reported without detail
    (providers/ai/opaque.py), so the generation log cannot probe what listens there."""
    from providers.ai.opaque import OpaqueErrors

    provider = make_external(kind, name, settings, api_key, base_url, outbound=own_key_policy(settings))
    return OpaqueErrors(provider) if provider is not None and base_url else provider


def _offline(kind: str) -> Any:
    from providers.ai.offline import OfflineScriptWriter, PiperSpeech, ProceduralImages

    return {"text": OfflineScriptWriter, "image": ProceduralImages, "speech": PiperSpeech}[kind]()


def _build(kind: str, settings: Any, names: list[str]) -> list[Any]:
    out: list[Any] = []
    offline_name = _offline_name(kind)
    for name in names:
        if name == offline_name:
            out.append(_offline(kind))
            continue
        key, base_url = server_key(settings, name)
        if key and name in CAPABLE[kind]:
            provider = make_external(kind, name, settings, key, base_url)
            if provider is not None:
                out.append(provider)
    if not any(getattr(p, "name", "") == offline_name for p in out):
        out.append(_offline(kind))  # the last resort always works
    return out


def _offline_name(kind: str) -> str:
    return {"text": "offline", "image": "procedural", "speech": "piper"}[kind]


def build_text_providers(settings: Any) -> list[TextProvider]:
    return _build("text", settings, list(settings.text_providers))


def build_image_providers(settings: Any) -> list[ImageProvider]:
    return _build("image", settings, list(settings.image_providers))


def build_speech_providers(settings: Any) -> list[SpeechProvider]:
    return _build("speech", settings, list(settings.speech_providers))


@dataclass(frozen=True)
class HealthRow:
    kind: str
    provider: str
    model: str | None
    state: str
    consecutive_failures: int
    opened_at: datetime | None
    last_error: str | None
    retry_in_seconds: float | None


@dataclass
class AIChains:
    text: FallbackChain[TextProvider]
    image: FallbackChain[ImageProvider]
    speech: FallbackChain[SpeechProvider]
    settings: Any = None
    user_breakers: dict[tuple[uuid.UUID, str, str], CircuitBreaker] = field(default_factory=dict)
    """Breakers of users' own keys, apart from the server's: a bad own key never trips the server's."""

    @classmethod
    def from_settings(cls, settings: Any) -> AIChains:
        return cls(
            text=FallbackChain("text", build_text_providers(settings)),
            image=FallbackChain("image", build_image_providers(settings)),
            speech=FallbackChain("speech", build_speech_providers(settings)),
            settings=settings,
        )

    def of(self, kind: str) -> FallbackChain[Any]:
        chains: dict[str, FallbackChain[Any]] = {
            "text": self.text,
            "image": self.image,
            "speech": self.speech,
        }
        return chains[kind]

    def user_breaker(self, user_id: uuid.UUID, kind: str, provider: str) -> CircuitBreaker:
        key = (user_id, kind, provider)
        breaker = self.user_breakers.get(key)
        if breaker is None:
            if len(self.user_breakers) > 10_000:
                self.user_breakers.clear()
            breaker = self.user_breakers[key] = CircuitBreaker()
        return breaker

    def health(self) -> list[HealthRow]:
        """This process's view of every server provider's circuit breaker."""
        now, mono = datetime.now(UTC), time.monotonic()
        out = []
        for chain in (self.text, self.image, self.speech):
            for h in chain.health():
                b = h.breaker
                opened = (
                    now - timedelta(seconds=max(0.0, mono - b.opened_at)) if b.opened_at is not None else None
                )
                out.append(
                    HealthRow(
                        kind=h.kind,
                        provider=h.provider,
                        model=h.model,
                        state=b.state.value,
                        consecutive_failures=b.consecutive_failures,
                        opened_at=opened,
                        last_error=b.last_error,
                        retry_in_seconds=b.retry_in,
                    )
                )
        return out


def chains_for(resources: Resources) -> AIChains:
    """One set of chains (and so of circuit breakers) per process."""
    if resources.ai_chains is None:
        resources.ai_chains = AIChains.from_settings(resources.settings)
    return resources.ai_chains


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    video_id: uuid.UUID | None = None
    on_quota: Literal["offline", "raise"] = "offline"
    """Out of quota: carry on with unmetered providers (pipeline) or raise QUOTA_EXCEEDED (studio)."""
    offline_only: bool = False


@dataclass(frozen=True)
class Access:
    external: bool
    """May use the server's external providers (PREMIUM and above)."""
    keys: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """The user's own keys: provider -> (api_key, base_url)."""


@dataclass
class _Plan:
    chain: FallbackChain[Any]
    metered: set[str]
    own: list[Any]


class AIService:
    """Runs a provider chain for one user and writes one ai_generations row per attempt in its own
    transaction, so the log survives whatever happens to the caller's transaction."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        chains: AIChains,
        prices: dict[str, dict[str, float]] | None = None,
        *,
        cache: AICache | None = None,
        quotas: QuotaService | None = None,
        settings: Any = None,
        cache_offline: bool = False,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.chains = chains
        self.prices = prices or DEFAULT_PRICES
        self.cache = cache
        self.quotas = quotas or QuotaService(sessionmaker)
        self.settings = settings if settings is not None else chains.settings
        self.cache_offline = cache_offline
        self._access: dict[uuid.UUID, Access] = {}

    @classmethod
    def for_resources(cls, resources: Resources, **kw: Any) -> AIService:
        settings = resources.settings
        cache = AICache(resources.redis, resources.storage, resources.key, settings.ai_cache_ttl_seconds)
        return cls(resources.sessionmaker, chains_for(resources), cache=cache, settings=settings, **kw)

    # ------------------------------------------------------------ the three kinds

    async def speech_pace(self, caller: Caller) -> int:
        """Words per minute of the voice this caller's narration will most likely use (the first
        provider of their speech chain), so scripts are written to the requested length."""
        from providers.ai.base import speaking_pace

        plan = self.plan_chain("speech", await self.access(caller.user_id), caller)
        try:
            return speaking_pace(plan.chain.providers[0]) if plan.chain.providers else speaking_pace(None)
        finally:
            await _close(plan.own)

    async def write_script(
        self,
        caller: Caller,
        request: ScriptRequest,
        *,
        store: Callable[[ScriptResult], Awaitable[str | None]] | None = None,
    ) -> ScriptResult:
        prompt = request.own_script or request.topic
        params = {
            "target_seconds": request.target_seconds,
            "language": request.language,
            "own_script": request.own_script is not None,
        }
        full = {
            "topic": request.topic,
            "target_seconds": request.target_seconds,
            "language": request.language,
            "own_script": request.own_script,
            "title": request.title,
            "wpm": request.words_per_minute,
            "tone": request.tone,
        }
        return await self._run(
            caller, GenerationType.TEXT, lambda p: p.write_script(request), prompt, params, full, store=store
        )

    async def generate_image(
        self,
        caller: Caller,
        request: ImageRequest,
        *,
        store: Callable[[ImageResult], Awaitable[str | None]] | None = None,
    ) -> ImageResult:
        params = {"width": request.width, "height": request.height, "scene": request.scene_index}
        full = {
            "width": request.width,
            "height": request.height,
            "scene": request.scene_index,
            "heading": request.heading,
            "keywords": list(request.keywords),
            "seed": request.seed,
        }
        return await self._run(
            caller,
            GenerationType.IMAGE,
            lambda p: p.generate_image(request),
            request.prompt,
            params,
            full,
            store=store,
        )

    async def synthesize(
        self,
        caller: Caller,
        request: SpeechRequest,
        *,
        store: Callable[[SpeechResult], Awaitable[str | None]] | None = None,
    ) -> SpeechResult:
        text = " ".join(request.sentences)
        if request.voice and request.voice.startswith("piper:"):
            caller = replace(caller, offline_only=True)  # an offline voice: no external provider speaks it
        params = {"voice": request.voice, "language": request.language, "speed": request.speed}
        full = {
            "sentences": list(request.sentences),
            "voice": request.voice,
            "language": request.language,
            "speed": request.speed,
        }
        return await self._run(
            caller,
            GenerationType.AUDIO,
            lambda p: p.synthesize(request),
            text,
            params,
            full,
            output_path=request.output_path,
            store=store,
        )

    # ------------------------------------------------------------ who gets what

    async def access(self, user_id: uuid.UUID) -> Access:
        """The user's entitlement and own keys (read once per service instance)."""
        found = self._access.get(user_id)
        if found is not None:
            return found
        from domain.user import active_roles
        from persistence.user import UserRepository

        async with separate_read(self.sessionmaker, why="NOT_HELD_ACROSS_IO") as session:
            roles = active_roles((await UserRepository(session).roles_of([user_id]))[user_id])
            creds = await AIRepository(session).credentials(user_id)
        keys: dict[str, tuple[str, str | None]] = {}
        if creds and self.settings is not None:
            from domain.crypto import DecryptionError, decrypt

            for cred in creds:
                try:
                    keys[cred.provider] = (decrypt(self.settings, cred.encrypted_key), cred.base_url)
                except (DecryptionError, RuntimeError):
                    log.warning("cannot decrypt the %s key of user %s; ignoring it", cred.provider, user_id)
        found = self._access[user_id] = Access(external=bool(roles & EXTERNAL_ROLES), keys=keys)
        return found

    def plan_chain(self, kind: str, access: Access, caller: Caller) -> _Plan:
        server = self.chains.of(kind)
        if caller.offline_only:
            return _Plan(_subset(server, [p for p in server.providers if is_offline(p)]), set(), [])
        own: list[Any] = []
        if access.keys and self.settings is not None:
            listed = list(getattr(self.settings, f"{kind}_providers", []))
            order = sorted(CAPABLE[kind], key=lambda n: listed.index(n) if n in listed else len(listed))
            for name in order:
                if name in access.keys:
                    key, base_url = access.keys[name]
                    provider = make_own(kind, name, self.settings, key, base_url)
                    if provider is not None:
                        own.append(provider)
        own_names = {p.name for p in own}
        if not own and access.external:
            return _Plan(server, {p.name for p in server.providers if not is_offline(p)}, [])
        rest = [p for p in server.providers if p.name not in own_names and (is_offline(p) or access.external)]
        if not own:
            return _Plan(_subset(server, rest), set(), [])
        breakers = {p.name: self.chains.user_breaker(caller.user_id, kind, p.name) for p in own}
        breakers.update({p.name: server.breakers[p.name] for p in rest})
        chain: FallbackChain[Any] = FallbackChain(
            kind, own + rest, breakers=breakers, metrics=False, call_timeout=server.call_timeout
        )
        return _Plan(chain, {p.name for p in rest if not is_offline(p)}, own)

    # ------------------------------------------------------------ one call

    def _cacheable(self, provider: Any) -> bool:
        return self.cache is not None and (self.cache_offline or not is_offline(provider))

    @staticmethod
    def _digest(kind: str, provider: Any, prompt: str, full: dict[str, Any]) -> str:
        return digest(
            kind,
            provider.name,
            getattr(provider, "model", None),
            getattr(provider, "base_url", None),
            prompt,
            full,
        )

    async def _run(
        self,
        caller: Caller,
        gtype: GenerationType,
        op: Callable[[Any], Awaitable[T]],
        prompt: str,
        params: dict[str, Any],
        full: dict[str, Any],
        *,
        output_path: Path | None = None,
        store: Callable[[T], Awaitable[str | None]] | None = None,
    ) -> T:
        kind = KIND_OF[gtype]
        plan = self.plan_chain(kind, await self.access(caller.user_id), caller)
        try:
            return await self._run_plan(
                caller, gtype, kind, plan, op, prompt, params, full, output_path, store
            )
        finally:
            await _close(plan.own)

    async def _run_plan(
        self,
        caller: Caller,
        gtype: GenerationType,
        kind: str,
        plan: _Plan,
        op: Callable[[Any], Awaitable[T]],
        prompt: str,
        params: dict[str, Any],
        full: dict[str, Any],
        output_path: Path | None,
        store: Callable[[T], Awaitable[str | None]] | None,
    ) -> T:
        chain = plan.chain
        started = time.perf_counter()
        # The cache: the providers the chain would try now, in order, up to the first one that is
        # callable (its breaker is not open); paid results are never served to unentitled users.
        if self.cache is not None:
            for provider in chain.providers:
                if self._cacheable(provider):
                    hit = await self.cache.get(kind, self._digest(kind, provider, prompt, full), output_path)
                    if hit is not None:
                        result_key = await store(hit) if store is not None else None
                        await self._log_cached(
                            caller,
                            gtype,
                            prompt,
                            params,
                            provider,
                            hit,
                            result_key,
                            round((time.perf_counter() - started) * 1000),
                        )
                        return hit  # type: ignore[no-any-return]
                if chain.breakers[provider.name].state is not BreakerState.OPEN:
                    break
        reservation = None
        metered = set(plan.metered)
        if metered:
            try:
                reservation = await self.quotas.reserve(caller.user_id, gtype, 1)
            except QuotaExceeded:
                rest = [p for p in chain.providers if p.name not in metered]
                if caller.on_quota == "raise" and all(is_offline(p) for p in rest):
                    raise
                log.info("user %s is out of %s quota: unmetered providers only", caller.user_id, kind)
                chain, metered = _subset(chain, rest), set()
        try:
            outcome = await chain.call(op)
        except ChainFailedError as exc:
            if reservation is not None:
                await self.quotas.release(reservation)
            await self._log_attempts(caller, gtype, prompt, params, exc.attempts, None, None)
            raise
        except BaseException:
            if reservation is not None:
                await self.quotas.release(reservation)
            raise
        if reservation is not None and outcome.provider not in metered:
            await self.quotas.release(reservation)  # the paid providers failed; the result was free
        result = outcome.result
        provider = next(p for p in chain.providers if p.name == outcome.provider)
        if self.cache is not None and self._cacheable(provider):
            await self.cache.put(kind, self._digest(kind, provider, prompt, full), result)
        result_key = await store(result) if store is not None else None
        usage: Usage | None = getattr(result, "usage", None)
        await self._log_attempts(
            caller,
            gtype,
            prompt,
            params,
            outcome.attempts,
            usage,
            round((time.perf_counter() - started) * 1000),
            result_key=result_key,
        )
        return result

    # ------------------------------------------------------------ the log

    async def _log_cached(
        self,
        caller: Caller,
        kind: GenerationType,
        prompt: str,
        params: dict[str, Any],
        provider: Any,
        result: Any,
        result_key: str | None,
        ms: int,
    ) -> None:
        usage = getattr(result, "usage", None)
        row = AIGeneration(
            user_id=caller.user_id,
            video_id=caller.video_id,
            type=kind,
            provider=provider.name,
            model=(usage.model if usage is not None and usage.model else None)
            or getattr(provider, "model", None),
            prompt=prompt[:20000],
            parameters=params,
            result_key=result_key,
            tokens_used=None,
            cost_usd=Decimal("0"),
            processing_time_ms=ms,
            status=GenerationStatus.CACHED,
            completed_at=datetime.now(UTC),
        )
        await self._write([row])

    async def _log_attempts(
        self,
        caller: Caller,
        kind: GenerationType,
        prompt: str,
        params: dict[str, Any],
        attempts: list[Any],
        usage: Usage | None,
        total_ms: int | None,
        *,
        result_key: str | None = None,
    ) -> None:
        # Each row is stamped with when its attempt started and ended (worked back from now), so
        # the log reads in the order the chain tried the providers.
        ends: list[datetime] = []
        end = datetime.now(UTC)
        for attempt in reversed(attempts):
            ends.insert(0, end)
            end -= timedelta(milliseconds=attempt.duration_ms)
        rows = []
        previous: datetime | None = None
        for attempt, finished in zip(attempts, ends, strict=True):
            begun = finished - timedelta(milliseconds=attempt.duration_ms)
            if previous is not None and begun <= previous:
                begun = previous + timedelta(microseconds=1)
            previous = begun
            ok = attempt.ok
            cost = price_usd(usage, self.prices) if ok and usage is not None else None
            rows.append(
                AIGeneration(
                    user_id=caller.user_id,
                    video_id=caller.video_id,
                    type=kind,
                    provider=attempt.provider,
                    model=(usage.model if ok and usage else None) or attempt.model,
                    prompt=prompt[:20000],
                    parameters=params,
                    result_key=result_key if ok else None,
                    tokens_used=usage.tokens if ok and usage and usage.tokens else None,
                    cost_usd=Decimal(str(round(cost, 4))) if cost is not None else None,
                    processing_time_ms=int(attempt.duration_ms),
                    status=GenerationStatus.COMPLETED if ok else GenerationStatus.FAILED,
                    error_message=None if ok else _attempt_error(attempt.error),
                    created_at=begun,
                    completed_at=finished,
                )
            )
        await self._write(rows)

    async def _write(self, rows: list[AIGeneration]) -> None:
        if not rows:
            return
        try:
            async with separate_transaction(self.sessionmaker, why="SURVIVES_ROLLBACK") as session:
                repo = AIRepository(session)
                for row in rows:
                    repo.add_generation(row)
        except Exception:
            log.exception("could not log AI generations")


def _subset(chain: FallbackChain[Any], providers: list[Any]) -> FallbackChain[Any]:
    """The same chain (same breakers) with fewer providers."""
    if [p.name for p in providers] == [p.name for p in chain.providers]:
        return chain
    return FallbackChain(
        chain.kind,
        providers,
        breakers={p.name: chain.breakers[p.name] for p in providers},
        metrics=chain.metrics,
        call_timeout=chain.call_timeout,
    )


async def _close(providers: list[Any]) -> None:
    """Close the SDK clients of per-call (own-key) providers."""
    for provider in providers:
        closer = getattr(provider, "aclose", None)
        if closer is not None:
            try:
                await closer()
            except Exception:
                log.debug("closing an own-key provider failed", exc_info=True)


def _attempt_error(error: ProviderError | None) -> str | None:
    return error.message[:1000] if error is not None else None


async def list_generations(
    session: AsyncSession,
    principal: Any,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    type_: GenerationType | None,
) -> tuple[list[AIGeneration], bool, int]:
    """The signed-in user's generation log, newest first."""
    user_id = principal.require_user()
    repo = AIRepository(session)
    rows = await repo.generations_page(user_id, limit=limit + 1, after=after, type_=type_)
    return rows[:limit], len(rows) > limit, await repo.count_generations(user_id, type_)


async def get_generation(session: AsyncSession, principal: Any, generation_id: uuid.UUID) -> AIGeneration:
    """One log row: the owner's, or any with ADMIN_ANALYTICS_VIEW; otherwise NOT_FOUND."""
    from domain.errors import NotFound
    from domain.permissions import Permission

    row = await AIRepository(session).get_generation(generation_id)
    if row is None or not principal.owns_or_can(row.user_id, Permission.ADMIN_ANALYTICS_VIEW):
        raise NotFound("No such generation.")
    return row


# ------------------------------------------------------------------ the studio (standalone generations)

MAX_IMAGE_PROMPT, MAX_SPEECH_TEXT = 4000, 5000
MIN_SIDE, MAX_SIDE = 64, 2048


@dataclass(frozen=True)
class StudioImage:
    key: str
    url: str
    width: int
    height: int


@dataclass(frozen=True)
class StudioSpeech:
    key: str
    url: str
    duration: float
    sentences: tuple[Any, ...]


def _studio_caller(principal: Principal, offline: bool) -> Caller:
    return Caller(user_id=principal.require_user(), on_quota="raise", offline_only=offline)


def _text(value: str | None, field_name: str, limit: int, *, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise BadInput(f"`{field_name}` must not be empty.", field=field_name)
        return None
    if len(value) > limit:
        raise BadInput(f"`{field_name}` is longer than {limit} characters.", field=field_name)
    return value


async def studio_script(
    resources: Resources,
    principal: Principal,
    *,
    topic: str,
    target_seconds: int | None,
    language: str | None,
    own_script: str | None,
    offline: bool = False,
) -> ScriptResult:
    # The rules of createVideo's prompt, script, duration and language (domain.video_input).
    script = video_rules.script(own_script)
    topic_text = video_rules.prompt(topic, "topic") or (script or "")[:200]
    if not topic_text:
        raise BadInput("`topic` must not be empty.", field="topic")
    seconds = video_rules.duration(60 if target_seconds is None else target_seconds)
    lang = video_rules.language(language)
    request = ScriptRequest(topic=topic_text, target_seconds=float(seconds), language=lang, own_script=script)
    return await AIService.for_resources(resources).write_script(_studio_caller(principal, offline), request)


def _storage(resources: Resources) -> Any:
    return resources.storage


async def studio_image(
    resources: Resources, principal: Principal, *, prompt: str, width: int, height: int, offline: bool = False
) -> StudioImage:
    text = _text(prompt, "prompt", MAX_IMAGE_PROMPT)
    assert text is not None
    for name, side in (("width", width), ("height", height)):
        if not MIN_SIDE <= side <= MAX_SIDE:
            raise BadInput(f"`{name}` must be between {MIN_SIDE} and {MAX_SIDE} pixels.", field=name)
    caller = _studio_caller(principal, offline)
    storage = _storage(resources)
    stored: list[str] = []

    async def store(result: ImageResult) -> str:
        ext = "jpg" if result.mime_type == "image/jpeg" else "png"
        key = f"generations/{caller.user_id}/{uuid.uuid4()}.{ext}"
        await storage.put_bytes(key, result.data, result.mime_type)
        stored.append(key)
        return key

    request = ImageRequest(prompt=text, width=width, height=height, seed=text)
    result = await AIService.for_resources(resources).generate_image(caller, request, store=store)
    return StudioImage(
        key=stored[-1], url=str(await storage.url(stored[-1])), width=result.width, height=result.height
    )


async def studio_speech(
    resources: Resources, principal: Principal, *, text: str, voice: str | None, offline: bool = False
) -> StudioSpeech:
    from providers.ai.offline import split_sentences

    body = _text(text, "text", MAX_SPEECH_TEXT)
    assert body is not None
    asked = (voice or "").strip()
    if asked.lower() not in video_rules.DEFAULT_VOICE_WORDS:
        voice = video_rules.voice(asked, await voice_ids(resources, principal))  # as createVideo checks it
    else:
        voice = None
    sentences = tuple(await asyncio.to_thread(split_sentences, body, "en")) or (body,)
    caller = _studio_caller(principal, offline)
    storage = _storage(resources)
    work = resources.settings.work_dir / "studio" / uuid.uuid4().hex
    work.mkdir(parents=True, exist_ok=True)
    stored: list[str] = []

    async def store(result: SpeechResult) -> str:
        key = f"generations/{caller.user_id}/{uuid.uuid4()}.wav"
        await storage.put_file(key, Path(result.path), "audio/wav")
        stored.append(key)
        return key

    try:
        request = SpeechRequest(sentences=sentences, output_path=work / "speech.wav", voice=voice or None)
        result = await AIService.for_resources(resources).synthesize(caller, request, store=store)
    finally:
        import shutil

        await asyncio.to_thread(shutil.rmtree, work, True)
    return StudioSpeech(
        key=stored[-1],
        url=str(await storage.url(stored[-1])),
        duration=result.duration,
        sentences=result.sentences,
    )


async def voices_for(resources: Resources, principal: Principal) -> list[Voice]:
    """Voices of every speech provider this user's narrations can use (the offline voice always)."""
    user_id = principal.require_user()
    service = AIService.for_resources(resources)
    plan = service.plan_chain("speech", await service.access(user_id), Caller(user_id))
    out: list[Voice] = []
    try:
        for provider in plan.chain.providers:
            try:
                out += await asyncio.wait_for(provider.list_voices(), 10)
            except Exception:
                log.warning("could not list the voices of %s", provider.name, exc_info=True)
    finally:
        await _close(plan.own)
    return out


VOICES_CACHE_SECONDS = 600


async def voice_ids(resources: Resources, principal: Principal) -> set[str] | None:
    """The voice ids this user's narrations can use, cached briefly in Redis; None when some
    provider could not be asked (then a voice cannot be refused for being unknown)."""
    import json

    user_id = principal.require_user()
    key = resources.key("voices", str(user_id))
    cached = await resources.redis.get(key)
    if cached is not None:
        data = json.loads(cached)
        return None if data is None else set(data)
    service = AIService.for_resources(resources)
    plan = service.plan_chain("speech", await service.access(user_id), Caller(user_id))
    ids: set[str] | None = set()
    try:
        for provider in plan.chain.providers:
            try:
                ids |= {v.id for v in await asyncio.wait_for(provider.list_voices(), 10)}  # type: ignore[operator]
            except Exception:
                log.warning("could not list the voices of %s", provider.name, exc_info=True)
                ids = None
                break
    finally:
        await _close(plan.own)
    await resources.redis.set(
        key, json.dumps(sorted(ids) if ids is not None else None), ex=VOICES_CACHE_SECONDS
    )
    return ids


def provider_health(resources: Resources) -> list[HealthRow]:
    return chains_for(resources).health()


async def my_quotas(session: AsyncSession, principal: Principal) -> list[Any]:
    from domain.quota import quotas_of

    return await quotas_of(session, principal.require_user())


# ------------------------------------------------------------------ own provider keys (BYOK)


async def _check_base_url(resources: Resources, base_url: str | None) -> str | None:
    """An own endpoint must be an absolute http(s) URL (only https in production) on an allowed
    port, resolving to public addresses unless private ones are allowed. This early check gives a
    clear error; every connection is checked again when it is made (providers/net.py)."""
    from urllib.parse import urlsplit

    from providers.net import OutboundRefusedError, UnresolvableHostError

    value = (base_url or "").strip()
    if not value:
        return None
    if len(value) > 500:
        raise BadInput("The base URL is too long.", field="baseUrl")
    settings = resources.settings
    allowed = ("https",) if settings.environment == "production" else ("https", "http")
    parts = urlsplit(value)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BadInput("The base URL has an invalid port.", field="baseUrl") from None
    if parts.scheme not in allowed or not parts.hostname:
        raise BadInput(f"The base URL must be an absolute {' or '.join(allowed)} URL.", field="baseUrl")
    policy = own_key_policy(settings)
    if policy.ports is not None and port not in policy.ports:
        ports = ", ".join(str(p) for p in sorted(policy.ports))
        raise BadInput(f"The base URL's port must be one of: {ports}.", field="baseUrl")
    if not policy.allow_private:
        try:
            await policy.addresses(parts.hostname, port)
        except (OutboundRefusedError, UnresolvableHostError):
            raise BadInput("The base URL must point at a public internet address.", field="baseUrl") from None
    return value


async def set_provider_key(
    session: AsyncSession,
    resources: Resources,
    principal: Principal,
    provider: str,
    api_key: str,
    base_url: str | None,
) -> ProviderCredential:
    from domain.crypto import encrypt

    user_id = principal.require_user()
    name = (provider or "").strip().lower()
    if name not in BYOK_PROVIDERS:
        raise BadInput(f"Unknown provider; one of: {', '.join(BYOK_PROVIDERS)}.", field="provider")
    key = (api_key or "").strip()
    if not 8 <= len(key) <= 500:
        raise BadInput("The API key must be 8 to 500 characters.", field="apiKey")
    url = await _check_base_url(resources, base_url)
    repo = AIRepository(session)
    row = await repo.credential(user_id, name)
    if row is None:
        row = ProviderCredential(
            user_id=user_id, provider=name, encrypted_key=encrypt(resources.settings, key), base_url=url
        )
        session.add(row)
    else:
        row.encrypted_key, row.base_url = encrypt(resources.settings, key), url
        row.updated_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(row)
    return row


async def delete_provider_key(session: AsyncSession, principal: Principal, provider: str) -> bool:
    return await AIRepository(session).delete_credential(
        principal.require_user(), (provider or "").strip().lower()
    )


async def provider_keys(session: AsyncSession, principal: Principal) -> list[ProviderCredential]:
    return await AIRepository(session).credentials(principal.require_user())


# ------------------------------------------------------------------ voice cloning

MAX_SAMPLE_BYTES = 10 * 1024 * 1024


async def clone_voice(
    resources: Resources, principal: Principal, name: str, sample: bytes, filename: str
) -> Voice:
    """A new ElevenLabs voice from one audio sample, with the user's own ElevenLabs key or, for
    users entitled to the server's providers, the server's key. The sample's type is read from
    its content; the type the client declared is not trusted."""
    from domain.permissions import Permission

    user_id = principal.require(Permission.AI_GENERATE_AUDIO)
    label = (name or "").strip()
    if not 1 <= len(label) <= 100:
        raise BadInput("Name the voice (1 to 100 characters).", field="name")
    if not sample:
        raise BadInput("The sample is empty.", field="sample")
    if len(sample) > MAX_SAMPLE_BYTES:
        raise BadInput("The sample is larger than 10 MB.", field="sample")
    ctype = audio_type(sample)
    if ctype is None:
        raise BadInput("Send the sample as an audio file (MP3, WAV, M4A, OGG, WebM or FLAC).", field="sample")
    service = AIService.for_resources(resources)
    access = await service.access(user_id)
    if "elevenlabs" in access.keys:
        key, base_url = access.keys["elevenlabs"]
    elif access.external and resources.settings.elevenlabs_api_key:
        key, base_url = (
            resources.settings.elevenlabs_api_key.get_secret_value(),
            resources.settings.elevenlabs_base_url,
        )
    else:
        raise BadInput(
            "Voice cloning uses ElevenLabs: add your ElevenLabs key (setProviderKey) or upgrade to Premium.",
            field="sample",
        )
    if "elevenlabs" in access.keys:
        provider = make_own("speech", "elevenlabs", resources.settings, key, base_url)
    else:
        provider = make_external("speech", "elevenlabs", resources.settings, key, base_url)
    if provider is None:
        raise BadInput("ElevenLabs is not available for this account.", field="sample")
    try:
        voice: Voice = await provider.clone_voice(
            label, sample, filename=filename or "sample", content_type=ctype
        )
    except ProviderError as exc:
        raise BadInput(f"ElevenLabs could not clone the voice: {exc.message}", field="sample") from None
    finally:
        await _close([provider])
    await resources.redis.delete(resources.key("voices", str(user_id)))  # the new voice lists at once
    return voice
