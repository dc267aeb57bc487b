"""The process's provider chains (one set of circuit breakers per process) and their health."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from providers.ai.base import (
    ImageProvider,
    SpeechProvider,
    TextProvider,
)
from providers.ai.breaker import CircuitBreaker
from providers.ai.chain import FallbackChain
from providers.ai.registry import (
    build_image_providers,
    build_speech_providers,
    build_text_providers,
)

if TYPE_CHECKING:
    from runtime.resources import Resources


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


def provider_health(resources: Resources) -> list[HealthRow]:
    return chains_for(resources).health()
