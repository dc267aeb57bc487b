"""FallbackChain and CircuitBreaker: unit tests with fake providers and a fake clock,
plus the chain driving real OpenAI adapters against the local fake server."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest
from ai_ext_fakes import API_KEY, FakeServer, openai_chat, reply_error, reply_json, script_payload
from prometheus_client import REGISTRY

from providers.ai.base import (
    AllProvidersFailedError,
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    ScriptRequest,
    ScriptResult,
    TransientProviderError,
    Usage,
)
from providers.ai.breaker import BreakerState, CircuitBreaker
from providers.ai.chain import ChainFailedError, FallbackChain, price_usd
from providers.ai.errors import ProviderAuthError, ProviderRejectedError
from providers.ai.openai import OpenAIText


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Fake:
    name: str
    outcomes: list[object] = field(default_factory=list)
    """Per call: an exception to raise, a float to sleep then answer, or a value to return."""
    model: str | None = "m1"
    calls: int = 0

    async def run(self) -> str:
        self.calls += 1
        outcome = self.outcomes[min(self.calls - 1, len(self.outcomes) - 1)] if self.outcomes else "ok"
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, float):
            await asyncio.sleep(outcome)
            return f"{self.name}-slow"
        return f"{self.name}-{outcome}"


def boom(name: str = "a") -> TransientProviderError:
    return TransientProviderError(name, "server error (HTTP 500)")


async def op(p: Fake) -> str:
    return await p.run()


# ------------------------------------------------------------------ breaker


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """The breaker's state now: a call, so mypy keeps no narrowing from an earlier assert."""
    return breaker.state


def test_breaker_opens_after_threshold_and_recovers_through_one_probe() -> None:
    clock = FakeClock()
    b = CircuitBreaker(failure_threshold=3, cool_down=30, clock=clock)
    for _ in range(2):
        assert b.allow()
        b.record_failure("x")
    assert state_of(b) is BreakerState.CLOSED
    assert b.allow()
    b.record_failure("third")
    assert state_of(b) is BreakerState.OPEN
    snap = b.snapshot()
    assert (snap.consecutive_failures, snap.opened_at, snap.last_error) == (3, 1000.0, "third")
    assert not b.allow()
    clock.now += 29.9
    assert not b.allow()
    clock.now += 0.1
    assert state_of(b) is BreakerState.HALF_OPEN
    assert b.allow()  # the probe
    assert not b.allow()  # concurrent callers rejected while it runs
    b.record_success()
    assert state_of(b) is BreakerState.CLOSED
    assert b.snapshot().consecutive_failures == 0
    assert b.allow() and b.allow()


def test_breaker_failed_probe_reopens_for_a_full_cool_down() -> None:
    clock = FakeClock()
    b = CircuitBreaker(failure_threshold=1, cool_down=10, clock=clock)
    b.record_failure("x")
    clock.now += 10
    assert b.allow()
    b.record_failure("still down")
    assert state_of(b) is BreakerState.OPEN
    assert b.snapshot().opened_at == clock.now
    clock.now += 9
    assert not b.allow()
    clock.now += 1
    assert b.allow()


def test_breaker_success_resets_the_count() -> None:
    b = CircuitBreaker(failure_threshold=2)
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert state_of(b) is BreakerState.CLOSED


def test_released_probe_lets_the_next_caller_probe() -> None:
    clock = FakeClock()
    b = CircuitBreaker(failure_threshold=1, cool_down=1, clock=clock)
    b.record_failure()
    clock.now += 1
    assert b.allow()
    assert not b.allow()
    b.release()
    assert b.allow()


# ------------------------------------------------------------------ chain with fakes


async def test_fallback_order_and_attempts() -> None:
    a, b, c = Fake("a", [boom("a")]), Fake("b", ["ok"]), Fake("c", ["ok"])
    chain = FallbackChain("text", [a, b, c], metrics=False)
    outcome = await chain.call(op)
    assert outcome.result == "b-ok"
    assert outcome.provider == "b"
    assert [(x.provider, x.ok) for x in outcome.attempts] == [("a", False), ("b", True)]
    assert isinstance(outcome.attempts[0].error, TransientProviderError)
    assert outcome.attempts[1].error is None and outcome.attempts[1].model == "m1"
    assert all(x.duration_ms >= 0 for x in outcome.attempts)
    assert c.calls == 0


async def test_every_kind_of_provider_error_moves_on() -> None:
    errors: list[ProviderError] = [
        RateLimitedError("a", "429", retry_after=3),
        ProviderAuthError("b", "rejected the API key"),
        ProviderRejectedError("c", "content policy"),
        MalformedResponseError("d", "bad json"),
    ]
    fakes = [Fake(e.provider, [e]) for e in errors] + [Fake("e", ["ok"])]
    outcome = await FallbackChain("text", fakes, metrics=False).call(op)
    assert outcome.provider == "e"
    assert [x.error for x in outcome.attempts[:-1]] == errors


async def test_per_call_timeout_moves_on() -> None:
    slow, fast = Fake("slow", [5.0]), Fake("fast", ["ok"])
    chain = FallbackChain("text", [slow, fast], metrics=False, call_timeout=0.05)
    outcome = await chain.call(op)
    assert outcome.provider == "fast"
    assert isinstance(outcome.attempts[0].error, ProviderTimeoutError)


async def test_all_failed_names_each_provider() -> None:
    a = Fake("a", [RateLimitedError("a", "rate limited or out of quota")])
    b = Fake("b", [ProviderAuthError("b", "rejected the API key")])
    chain = FallbackChain("image", [a, b], metrics=False)
    with pytest.raises(AllProvidersFailedError) as info:
        await chain.call(op)
    err = info.value
    assert isinstance(err, ChainFailedError)
    assert str(err) == (
        "every image provider failed (a: rate limited or out of quota; b: rejected the API key)"
    )
    assert [n for n, _ in err.failures] == ["a", "b"]
    assert err.transient  # one of them was worth retrying later
    assert [x.provider for x in err.attempts] == ["a", "b"]


async def test_empty_chain_fails_clearly() -> None:
    with pytest.raises(AllProvidersFailedError, match="no provider configured"):
        await FallbackChain("speech", [], metrics=False).call(op)


async def test_breaker_opens_in_chain_then_skips_then_half_open_recovery() -> None:
    clock = FakeClock()
    a = Fake("a", [boom(), boom(), boom(), "ok"])
    b = Fake("b", ["ok"])
    chain = FallbackChain(
        "text",
        [a, b],
        breaker_factory=lambda: CircuitBreaker(failure_threshold=3, cool_down=30, clock=clock),
        metrics=False,
    )
    for _ in range(3):
        assert (await chain.call(op)).provider == "b"
    assert state_of(chain.breakers["a"]) is BreakerState.OPEN
    assert a.calls == 3

    outcome = await chain.call(op)  # a is skipped: no call made
    assert a.calls == 3
    assert outcome.skipped == ["a"]
    assert [x.provider for x in outcome.attempts] == ["b"]

    health = {h.provider: h.breaker for h in chain.health()}
    assert health["a"].state is BreakerState.OPEN and health["a"].consecutive_failures == 3
    assert health["a"].last_error == "server error (HTTP 500)"
    assert health["b"].state is BreakerState.CLOSED

    clock.now += 30
    outcome = await chain.call(op)  # half-open probe succeeds
    assert outcome.provider == "a" and a.calls == 4
    assert state_of(chain.breakers["a"]) is BreakerState.CLOSED


async def test_open_breaker_is_named_when_everything_fails() -> None:
    clock = FakeClock()
    a = Fake("a", [boom()])
    chain = FallbackChain(
        "text",
        [a],
        breakers={"a": CircuitBreaker(failure_threshold=1, cool_down=60, clock=clock)},
        metrics=False,
    )
    with pytest.raises(AllProvidersFailedError):
        await chain.call(op)
    with pytest.raises(AllProvidersFailedError, match=r"a: circuit breaker open .*retry in 60s") as info:
        await chain.call(op)
    assert info.value.attempts == []  # type: ignore[attr-defined]
    assert a.calls == 1


async def test_half_open_lets_exactly_one_concurrent_probe() -> None:
    clock = FakeClock()
    a = Fake("a", [boom(), 0.05])
    b = Fake("b", ["ok"])
    chain = FallbackChain("text", [a, b], breakers={"a": CircuitBreaker(1, 5, clock)}, metrics=False)
    await chain.call(op)
    clock.now += 5
    outcomes = await asyncio.gather(*(chain.call(op) for _ in range(4)))
    assert sorted(o.provider for o in outcomes) == ["a", "b", "b", "b"]
    assert a.calls == 2


async def test_request_rejection_does_not_open_the_breaker_but_auth_does() -> None:
    rejected = Fake("r", [ProviderRejectedError("r", "content policy")])
    auth = Fake("k", [ProviderAuthError("k", "rejected the API key")])
    ok = Fake("ok", ["ok"])
    chain = FallbackChain(
        "text",
        [rejected, auth, ok],
        breaker_factory=lambda: CircuitBreaker(failure_threshold=2),
        metrics=False,
    )
    for _ in range(3):
        await chain.call(op)
    assert state_of(chain.breakers["r"]) is BreakerState.CLOSED
    assert state_of(chain.breakers["k"]) is BreakerState.OPEN
    assert rejected.calls == 3 and auth.calls == 2


async def test_cancellation_releases_the_probe() -> None:
    clock = FakeClock()
    a = Fake("a", [boom(), 5.0, "ok"])
    chain = FallbackChain("text", [a], breakers={"a": CircuitBreaker(1, 1, clock)}, metrics=False)
    with pytest.raises(AllProvidersFailedError):
        await chain.call(op)
    clock.now += 1
    task = asyncio.ensure_future(chain.call(op))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await chain.call(op)).provider == "a"


def test_duplicate_provider_names_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        FallbackChain("text", [Fake("a"), Fake("a")])


async def test_metrics_are_recorded() -> None:
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    labels = {"kind": "metrics-test", "provider": "mx"}
    before_fail = sample("autovideo_ai_calls_total", outcome="transient", **labels)
    before_ok = sample("autovideo_ai_calls_total", outcome="ok", **labels)
    before_n = sample("autovideo_ai_call_seconds_count", **labels)
    mx = Fake("mx", [boom("mx"), "ok"])
    chain = FallbackChain("metrics-test", [mx], breakers={"mx": CircuitBreaker(failure_threshold=1)})
    with pytest.raises(AllProvidersFailedError):
        await chain.call(op)
    assert sample("autovideo_ai_breaker_open", **labels) == 1.0
    assert sample("autovideo_ai_calls_total", outcome="transient", **labels) == before_fail + 1
    with pytest.raises(AllProvidersFailedError, match="circuit breaker open"):
        await chain.call(op)  # skipped: breaker open
    assert sample("autovideo_ai_calls_total", outcome="skipped", **labels) >= 1
    chain.breakers["mx"].reset()
    await chain.call(op)
    assert sample("autovideo_ai_calls_total", outcome="ok", **labels) == before_ok + 1
    assert sample("autovideo_ai_call_seconds_count", **labels) == before_n + 2
    assert sample("autovideo_ai_breaker_open", **labels) == 0.0


def test_metrics_module_registers_once() -> None:
    import importlib

    import providers.ai.chain as chain_module

    importlib.reload(chain_module)  # must not raise "Duplicated timeseries"
    assert chain_module.AI_CALLS is REGISTRY._names_to_collectors["autovideo_ai_calls_total"]


def test_price_usd() -> None:
    prices = {
        "gpt-4o-mini": {"input_per_mtok": 0.15, "output_per_mtok": 0.60},
        "gpt-image-1": {"per_unit": 0.04},
    }
    assert price_usd(Usage("gpt-4o-mini", 1_000_000, 500_000), prices) == pytest.approx(0.45)
    assert price_usd(Usage("gpt-4o-mini-2024-07-18", 2_000_000, 0), prices) == pytest.approx(0.30)
    assert price_usd(Usage("gpt-image-1", units=3), prices) == pytest.approx(0.12)
    assert price_usd(Usage("unknown-model", 10, 10), prices) is None


# ------------------------------------------------------------------ chain over real adapters


async def test_chain_over_openai_adapters_first_500_second_used(fake: FakeServer) -> None:
    fake.on("POST", r"^/primary/v1/chat/completions$", reply_error(500, "internal"))
    fake.on("POST", r"^/backup/v1/chat/completions$", reply_json(openai_chat(json.dumps(script_payload()))))
    primary = OpenAIText(API_KEY, base_url=f"{fake.url}/primary/v1", model="gpt-a", name="openai", timeout=2)
    backup = OpenAIText(None, base_url=f"{fake.url}/backup/v1", model="llama", name="ollama", timeout=2)
    chain: FallbackChain[OpenAIText] = FallbackChain("text", [primary, backup], metrics=False)

    async def write(p: OpenAIText) -> ScriptResult:
        return await p.write_script(ScriptRequest(topic="t", target_seconds=20))

    outcome = await chain.call(write)
    assert outcome.provider == "ollama"
    assert outcome.result.usage.input_tokens == 120
    assert [(x.provider, x.model, x.ok) for x in outcome.attempts] == [
        ("openai", "gpt-a", False),
        ("ollama", "llama", True),
    ]
    assert "HTTP 500" in str(outcome.attempts[0].error)
    assert len(fake.calls("/primary/")) == 1 and len(fake.calls("/backup/")) == 1
