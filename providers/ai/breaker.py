"""A circuit breaker per provider, so a dead provider is skipped instead of being
waited on by every job.

    CLOSED --N consecutive failures--> OPEN --cool_down elapsed--> HALF_OPEN
    HALF_OPEN: exactly one probe call is let through (others are rejected while it runs)
               probe ok -> CLOSED; probe failed -> OPEN (cool-down starts again)

What counts as a failure is decided by the caller (the FallbackChain counts
transient failures, bad credentials and a missing model; a refused request
says nothing about the provider's health and counts as a success).

State is IN-PROCESS: each API/worker process keeps its own breakers, so with
several workers a dead provider is probed once per process per cool-down.
That is deliberate (no shared store on the hot path); `snapshot()` shows this
process's view only.

Not thread-safe: use it from one event loop (asyncio callers never interleave
between `allow()` and its bookkeeping because none of them await).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerSnapshot:
    state: BreakerState
    consecutive_failures: int
    opened_at: float | None
    """Clock reading (the breaker's clock, monotonic by default) when it last opened."""
    last_error: str | None
    retry_in: float | None = None
    """Seconds until an open breaker lets a probe through."""


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 3,
        cool_down: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if cool_down < 0:
            raise ValueError("cool_down must be >= 0")
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at: float | None = None
        self._last_error: str | None = None
        self._probe_in_flight = False

    # ------------------------------------------------------------ queries

    @property
    def state(self) -> BreakerState:
        """OPEN reads as HALF_OPEN once the cool-down has passed (a probe may go)."""
        if self._state is BreakerState.OPEN and self._cool_down_over():
            return BreakerState.HALF_OPEN
        return self._state

    def snapshot(self) -> BreakerSnapshot:
        retry_in: float | None = None
        if self._state is BreakerState.OPEN and self._opened_at is not None:
            retry_in = max(0.0, self._opened_at + self.cool_down - self._clock())
        return BreakerSnapshot(
            state=self.state,
            consecutive_failures=self._failures,
            opened_at=self._opened_at,
            last_error=self._last_error,
            retry_in=retry_in,
        )

    def _cool_down_over(self) -> bool:
        return self._opened_at is not None and self._clock() - self._opened_at >= self.cool_down

    # ------------------------------------------------------------ protocol

    def allow(self) -> bool:
        """May a call go through now? In HALF_OPEN the caller that gets True is the probe and
        MUST report back with record_success / record_failure / release."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            if not self._cool_down_over():
                return False
            self._state = BreakerState.HALF_OPEN
            self._probe_in_flight = False
        # HALF_OPEN
        if self._probe_in_flight:
            return False
        self._probe_in_flight = True
        return True

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = None
        self._probe_in_flight = False

    def record_failure(self, error: BaseException | str | None = None) -> None:
        if error is not None:
            self._last_error = str(error)
        self._failures += 1
        if self._state is BreakerState.OPEN:
            return  # a call that started before the trip; keep the cool-down as it is
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            self._trip()

    def release(self) -> None:
        """The probe ended without a verdict (cancelled, or a bug): let another caller probe."""
        self._probe_in_flight = False

    def reset(self) -> None:
        """Admin action: forget failures and close."""
        self.record_success()
        self._last_error = None

    def _trip(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._probe_in_flight = False

    def __repr__(self) -> str:
        return f"CircuitBreaker(state={self.state.value}, failures={self._failures})"
