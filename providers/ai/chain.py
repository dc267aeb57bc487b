"""Try the providers of one kind in priority order until one answers.

    chain = FallbackChain("text", [openai_text, claude_text], call_timeout=90)
    outcome = await chain.call(lambda p: p.write_script(request))
    outcome.result          # the ScriptResult
    outcome.attempts        # every call made, failed ones included, for ai_generations

A provider whose circuit breaker is open is skipped (no call, no Attempt; it is
named in `outcome.skipped` and, if everything fails, in the error). Any
ProviderError - and a per-call timeout - moves on to the next provider; other
exceptions are bugs and propagate. When every provider fails, ChainFailedError
(an AllProvidersFailedError) names each one's failure and carries the attempts.

Breakers are in-process (see breaker.py). Prometheus metrics are registered
once per process at import:
    autovideo_ai_calls_total{kind,provider,outcome}   outcome: ok, rate_limited, timeout,
                                                      transient, malformed, auth, rejected,
                                                      permanent, skipped
    autovideo_ai_call_seconds{kind,provider}
    autovideo_ai_breaker_open{kind,provider}          1 open, 0.5 half-open, 0 closed
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from providers.ai.base import (
    AllProvidersFailedError,
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
    Usage,
)
from providers.ai.breaker import BreakerSnapshot, BreakerState, CircuitBreaker
from providers.ai.errors import (
    ProviderAuthError,
    ProviderNotFoundError,
    ProviderRejectedError,
    counts_against_provider,
)

P = TypeVar("P")
T = TypeVar("T")

# ------------------------------------------------------------------ metrics (once per process)


def _existing(name: str) -> Any:
    return getattr(REGISTRY, "_names_to_collectors", {}).get(name)


def _counter() -> Counter:
    found = _existing("autovideo_ai_calls_total") or _existing("autovideo_ai_calls")
    if found is not None:
        return found  # type: ignore[no-any-return]
    return Counter(
        "autovideo_ai_calls_total", "AI provider calls by outcome", ["kind", "provider", "outcome"]
    )


def _histogram() -> Histogram:
    found = _existing("autovideo_ai_call_seconds")
    if found is not None:
        return found  # type: ignore[no-any-return]
    return Histogram(
        "autovideo_ai_call_seconds",
        "AI provider call duration",
        ["kind", "provider"],
        buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 300),
    )


def _gauge() -> Gauge:
    found = _existing("autovideo_ai_breaker_open")
    if found is not None:
        return found  # type: ignore[no-any-return]
    return Gauge(
        "autovideo_ai_breaker_open", "Circuit breaker open (1), half-open (0.5)", ["kind", "provider"]
    )


AI_CALLS = _counter()
AI_CALL_SECONDS = _histogram()
AI_BREAKER_OPEN = _gauge()


def outcome_label(error: ProviderError | None) -> str:
    if error is None:
        return "ok"
    for cls, label in (
        (RateLimitedError, "rate_limited"),
        (ProviderTimeoutError, "timeout"),
        (MalformedResponseError, "malformed"),
        (ProviderUnavailableError, "skipped"),
        (ProviderAuthError, "auth"),
        (ProviderNotFoundError, "auth"),
        (ProviderRejectedError, "rejected"),
    ):
        if isinstance(error, cls):
            return label
    return "transient" if error.transient else "permanent"


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class Attempt:
    provider: str
    model: str | None
    ok: bool
    error: ProviderError | None
    duration_ms: float


@dataclass(frozen=True)
class ChainOutcome(Generic[T]):
    result: T
    provider: str
    model: str | None
    attempts: list[Attempt]
    skipped: list[str] = field(default_factory=list)


class ChainFailedError(AllProvidersFailedError):
    """AllProvidersFailedError that also carries the attempts made, for logging."""

    def __init__(self, kind: str, failures: list[tuple[str, ProviderError]], attempts: list[Attempt]) -> None:
        super().__init__(kind, failures)
        self.attempts = attempts


@dataclass(frozen=True)
class ProviderHealth:
    kind: str
    provider: str
    model: str | None
    breaker: BreakerSnapshot


# ------------------------------------------------------------------ chain


def _name(provider: Any) -> str:
    name = getattr(provider, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"provider {provider!r} has no name")
    return name


def _model(provider: Any) -> str | None:
    model = getattr(provider, "model", None)
    return model if isinstance(model, str) else None


class FallbackChain(Generic[P]):
    def __init__(
        self,
        kind: str,
        providers: Sequence[P],
        breakers: Mapping[str, CircuitBreaker] | None = None,
        metrics: bool = True,
        *,
        call_timeout: float | None = None,
        breaker_factory: Callable[[], CircuitBreaker] = CircuitBreaker,
    ) -> None:
        """`providers` in priority order; `breakers` by provider name (missing ones are
        created with `breaker_factory`); `call_timeout` bounds each provider call."""
        self.kind = kind
        self.providers = list(providers)
        names = [_name(p) for p in self.providers]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate provider names in the {kind} chain: {names}")
        given = dict(breakers or {})
        self.breakers: dict[str, CircuitBreaker] = {n: given.get(n) or breaker_factory() for n in names}
        self.metrics = metrics
        self.call_timeout = call_timeout
        for n in names:
            self._update_gauge(n)

    async def call(
        self, op: Callable[[P], Awaitable[T]], *, call_timeout: float | None = None
    ) -> ChainOutcome[T]:
        """Run `op(provider)` on each provider in turn until one succeeds; `call_timeout`
        overrides the chain's per-call timeout for this call."""
        limit = call_timeout if call_timeout is not None else self.call_timeout
        attempts: list[Attempt] = []
        failures: list[tuple[str, ProviderError]] = []
        skipped: list[str] = []
        for provider in self.providers:
            name, model = _name(provider), _model(provider)
            breaker = self.breakers[name]
            if not breaker.allow():
                snap = breaker.snapshot()
                wait = f", retry in {snap.retry_in:.0f}s" if snap.retry_in is not None else ""
                skipped.append(name)
                reason = f"circuit breaker open after repeated failures{wait}"
                failures.append((name, ProviderUnavailableError(name, reason)))
                self._count(name, "skipped")
                continue
            started = time.perf_counter()
            try:
                try:
                    if limit is not None:
                        result = await asyncio.wait_for(op(provider), limit)
                    else:
                        result = await op(provider)
                except TimeoutError:
                    within = f" within {limit:g}s" if limit is not None else ""
                    raise ProviderTimeoutError(name, f"no answer{within}") from None
            except ProviderError as err:
                elapsed = time.perf_counter() - started
                if counts_against_provider(err):
                    breaker.record_failure(err.message)
                else:
                    breaker.record_success()  # it answered; the request was the problem
                attempts.append(Attempt(name, model, False, err, round(elapsed * 1000, 1)))
                failures.append((name, err))
                self._observe(name, outcome_label(err), elapsed)
                continue
            except BaseException:
                breaker.release()  # cancelled, or a bug: no verdict on the provider's health
                raise
            elapsed = time.perf_counter() - started
            breaker.record_success()
            attempts.append(Attempt(name, model, True, None, round(elapsed * 1000, 1)))
            self._observe(name, "ok", elapsed)
            return ChainOutcome(result=result, provider=name, model=model, attempts=attempts, skipped=skipped)
        raise ChainFailedError(self.kind, failures, attempts)

    def health(self) -> list[ProviderHealth]:
        return [
            ProviderHealth(self.kind, _name(p), _model(p), self.breakers[_name(p)].snapshot())
            for p in self.providers
        ]

    # ------------------------------------------------------------ metrics

    def _count(self, provider: str, outcome: str) -> None:
        if self.metrics:
            AI_CALLS.labels(self.kind, provider, outcome).inc()
            self._update_gauge(provider)

    def _observe(self, provider: str, outcome: str, seconds: float) -> None:
        if self.metrics:
            AI_CALL_SECONDS.labels(self.kind, provider).observe(seconds)
        self._count(provider, outcome)

    def _update_gauge(self, provider: str) -> None:
        if not self.metrics:
            return
        state = self.breakers[provider].state
        value = {BreakerState.CLOSED: 0.0, BreakerState.HALF_OPEN: 0.5, BreakerState.OPEN: 1.0}[state]
        AI_BREAKER_OPEN.labels(self.kind, provider).set(value)


# ------------------------------------------------------------------ pricing


def price_usd(usage: Usage, prices: Mapping[str, Mapping[str, float]]) -> float | None:
    """Cost of one call from a price table keyed by model name (exact, else longest prefix):
        {"gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.60},
         "gpt-image-1": {"per_unit": 0.04},                 # per image
         "eleven_multilingual_v2": {"per_unit": 0.00018}}   # per character
    None when the model is not in the table (unknown cost, not free)."""
    table = prices.get(usage.model)
    if table is None:
        candidates = [m for m in prices if m and usage.model.startswith(m)]
        if not candidates:
            return None
        table = prices[max(candidates, key=len)]
    cost = (
        usage.input_tokens * float(table.get("input_per_mtok", 0.0)) / 1_000_000
        + usage.output_tokens * float(table.get("output_per_mtok", 0.0)) / 1_000_000
        + usage.units * float(table.get("per_unit", 0.0))
    )
    return round(cost, 8)
