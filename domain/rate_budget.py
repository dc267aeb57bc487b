"""Cost-based rate limits: a token bucket per caller, charged with each operation's cost.

Buckets: one per API key (its own, apart from its owner's), one per signed-in user, one per
anonymous client address. A bucket holds at most `cost_per_minute` points (the anonymous
setting for addresses) and refills continuously at that many points a minute. An operation is
admitted when the bucket holds at least its cost; the cost is then taken. A refused operation
takes nothing and answers THROTTLED with `retryAfter` (the seconds until its cost is back).

The charge itself is part of the one Lua script of admission (domain/admission.py), so it costs
no round trip of its own; time is Redis's (TIME), so every API process agrees, unless a test
sets `clock` (milliseconds) to move time without sleeping. Only commands Redis 6.2 has."""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from domain.errors import Throttled
from domain.identity import Principal

if TYPE_CHECKING:
    from runtime.resources import Resources

PERIOD_MS = 60_000
"""A bucket refills from empty to full in this time."""

clock: Callable[[], int] | None = None
"""Tests: the time (epoch milliseconds) the script uses instead of Redis's TIME."""

# Lua, appended to admission's script. KEYS[5]: the bucket ("" when off). ARGV: [2] cost,
# [3] capacity, [4] period ms, [5] now ms ("" for Redis TIME). Sets `budget` to
# {allowed 0/1, points left (string: Lua numbers are truncated in replies), now ms}.
LUA = """
local budget = false
if KEYS[5] ~= '' and not over_count then
  local cap, period, cost = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[2])
  local now = tonumber(ARGV[5])
  if not now then
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  local held = redis.call('HMGET', KEYS[5], 'p', 't')
  local points, at = tonumber(held[1]), tonumber(held[2])
  if not points then points, at = cap, now end
  if now > at then
    points = math.min(cap, points + (now - at) * cap / period)
    at = now
  end
  local allowed = 0
  if points >= cost then
    points = points - cost
    allowed = 1
  end
  redis.call('HSET', KEYS[5], 'p', tostring(points), 't', tostring(at))
  redis.call('PEXPIRE', KEYS[5], period)
  budget = {allowed, tostring(points), now}
end
"""


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    capacity: int


@dataclass(frozen=True, slots=True)
class Budget:
    """A bucket after a charge: what `extensions.cost` and the X-RateLimit-* headers say."""

    limit: int
    remaining: int
    reset_seconds: int
    """Seconds until the bucket is full again."""
    now_ms: int
    throttled: Throttled | None = None

    @property
    def reset_epoch(self) -> int:
        return self.now_ms // 1000 + self.reset_seconds

    @property
    def reset_at(self) -> str:
        return _iso(self.reset_epoch)


@functools.lru_cache(maxsize=64)
def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def bucket_of(resources: Resources, principal: Principal) -> Bucket | None:
    """The bucket an operation of this caller is charged to; None when the budget is off (0)."""
    settings = resources.settings
    if principal.api_key_id is not None:
        ident, capacity = f"key:{principal.api_key_id}", settings.cost_per_minute
    elif principal.user_id is not None:
        ident, capacity = f"user:{principal.user_id}", settings.cost_per_minute
    else:
        ident, capacity = f"ip:{principal.client_address or 'unknown'}", settings.anonymous_cost_per_minute
    if capacity <= 0:
        return None
    return Bucket(_key(resources.settings.redis_prefix, ident), capacity)


@functools.lru_cache(maxsize=4096)
def _key(prefix: str, ident: str) -> str:
    """Keys stay short and hold no raw addresses (hashed once per caller, not per request)."""
    return f"{prefix}:rl:cost:{hashlib.sha256(ident.lower().encode()).hexdigest()[:32]}"


def script_arguments(bucket: Bucket | None, cost: int) -> list[str | int]:
    """ARGV[2..5] of admission's script."""
    now = "" if clock is None else str(int(clock()))
    return [max(cost, 0), bucket.capacity if bucket else 0, PERIOD_MS, now]


def verdict(bucket: Bucket, reply: list[object] | None, cost: int) -> Budget | None:
    """The bucket's state from the script's reply (None when the script did not charge it)."""
    if not reply:
        return None
    allowed, points_text, now = reply
    points = float(points_text)  # type: ignore[arg-type]
    rate_per_second = bucket.capacity * 1000 / PERIOD_MS
    reset = math.ceil((bucket.capacity - points) / rate_per_second) if points < bucket.capacity else 0
    throttled = None
    if not int(allowed):  # type: ignore[call-overload]
        wait = max(1, math.ceil((cost - points) / rate_per_second))
        throttled = Throttled(
            f"The query cost budget is spent (this operation costs {cost}); try again later.",
            retry_after=wait,
            cost=cost,
        )
    return Budget(bucket.capacity, int(points), reset, int(now), throttled)  # type: ignore[call-overload]
