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
Quota (domain/ai/quota.py): 1 unit per call (a script, an image, one narration) is reserved before a
call whose chain contains a server-paid external provider, and given back when the call fails or
ends up on an unmetered provider. Cache hits cost nothing. When the reservation is refused the
pipeline carries on with the unmetered providers (a video always gets made); studio calls
(Caller.on_quota="raise") fail with QUOTA_EXCEEDED unless an own key is available.
"""

from __future__ import annotations

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

from domain.ai.cache import AICache, digest
from domain.ai.chains import AIChains, chains_for
from domain.ai.quota import QuotaService
from domain.errors import QuotaExceeded
from domain.transactions import separate_read, separate_transaction
from persistence.ai import AIGeneration, AIRepository
from persistence.enums import GenerationStatus, GenerationType, Role
from providers.ai.base import (
    ImageRequest,
    ImageResult,
    ProviderError,
    ScriptRequest,
    ScriptResult,
    SpeechRequest,
    SpeechResult,
    Usage,
)
from providers.ai.breaker import BreakerState
from providers.ai.chain import ChainFailedError, FallbackChain, price_usd
from providers.ai.registry import (
    CAPABLE,
    is_offline,
    make_own,
)

if TYPE_CHECKING:
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

EXTERNAL_ROLES = frozenset({Role.PREMIUM, Role.ADMIN, Role.SUPER_ADMIN})
KIND_OF = {GenerationType.TEXT: "text", GenerationType.IMAGE: "image", GenerationType.AUDIO: "speech"}


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
            await close_providers(plan.own)

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
            await close_providers(plan.own)

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


async def close_providers(providers: list[Any]) -> None:
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
