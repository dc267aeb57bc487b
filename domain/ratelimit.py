"""Rate limits in Redis: fixed windows, and the login brute-force guard.

Login failures are counted three ways:
- per client address (`rl:login:ip:<addr>`): one address guessing many accounts;
- per account *and* address (`rl:login:acct-ip:<acct>:<addr>`): the strict limit, which only
  ever locks out the address that is guessing;
- per account from anywhere (`rl:login:acct:<acct>` + `rl:login:lock:<acct>`): a short
  exponential backoff (capped at MAX_BACKOFF_SECONDS) against distributed guessing. Addresses
  that recently signed in to the account successfully (`rl:login:known:<acct>`) skip it, so an
  attacker cannot keep the owner out.
A successful login resets the account's counters."""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING

from domain.errors import Throttled

if TYPE_CHECKING:
    from runtime.resources import Resources

IP_LIMIT, IP_WINDOW = 50, 15 * 60
ACCOUNT_IP_LIMIT, ACCOUNT_IP_WINDOW = 5, 15 * 60
ACCOUNT_FREE_FAILURES, ACCOUNT_WINDOW = 10, 60 * 60
MAX_BACKOFF_SECONDS = 300
KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600


def operation_bucket(
    resources: Resources, user_id: uuid.UUID | None, address: str | None
) -> tuple[str, int] | None:
    """The per-minute operation counter of a caller (signed-in users and API keys by account,
    anonymous callers by address) and its ceiling; None when that ceiling is off (0)."""
    settings = resources.settings
    if user_id is not None:
        ident, limit = f"user:{user_id}", settings.operations_per_minute
    else:
        ident, limit = f"ip:{_addr(address)}", settings.anonymous_operations_per_minute
    if limit <= 0:
        return None
    return resources.key("rl", "ops", _id(ident)), limit


def _id(value: str) -> str:
    """Keys stay short and hold no raw emails."""
    return hashlib.sha256(value.lower().encode()).hexdigest()[:32]


def _addr(address: str | None) -> str:
    return address or "unknown"


async def hit(resources: Resources, name: str, ident: str, *, limit: int, window: int) -> None:
    """Count one use; THROTTLED (with retryAfter) once `limit` uses happened within `window`."""
    key = resources.key("rl", name, _id(ident))
    count = await resources.redis.incr(key)
    if count == 1:
        await resources.redis.expire(key, window)
    if count > limit:
        ttl = await resources.redis.ttl(key)
        if ttl < 0:
            await resources.redis.expire(key, window)
            ttl = window
        raise Throttled("Too many requests; try again later.", retry_after=max(int(ttl), 1))


async def check_login(resources: Resources, account: str, address: str | None) -> None:
    """Before checking a password: THROTTLED when this attempt must wait."""
    r, acct, addr = resources.redis, _id(account), _addr(address)
    keys = [
        (resources.key("rl", "login", "ip", addr), IP_LIMIT),
        (resources.key("rl", "login", "acct-ip", acct, addr), ACCOUNT_IP_LIMIT),
    ]
    for key, limit in keys:
        count = int(await r.get(key) or 0)
        if count >= limit:
            raise Throttled(
                "Too many failed sign-in attempts; try again later.",
                retry_after=max(int(await r.ttl(key)), 1),
            )
    lock = resources.key("rl", "login", "lock", acct)
    ttl = await r.pttl(lock)
    known = resources.key("rl", "login", "known", acct)
    if ttl and ttl > 0 and not await r.sismember(known, addr):  # type: ignore[misc]
        raise Throttled(
            "Too many failed sign-in attempts; try again later.", retry_after=max(1, -(-ttl // 1000))
        )


# INCR each counter; give it its window only when it has none (first failure, or a counter left
# without one), so the window is never extended. `EXPIRE … NX` does this on Redis 7 only; the
# embedded server is 6.2, so one Lua script does it there and here alike, atomically.
_COUNT_FAILURE = """
local counts = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 or redis.call('TTL', key) == -1 then
    redis.call('EXPIRE', key, ARGV[i])
  end
  counts[i] = n
end
return counts
"""


async def login_failed(resources: Resources, account: str, address: str | None) -> None:
    r, acct, addr = resources.redis, _id(account), _addr(address)
    count = r.register_script(_COUNT_FAILURE)
    results = await count(
        keys=[
            resources.key("rl", "login", "ip", addr),
            resources.key("rl", "login", "acct-ip", acct, addr),
            resources.key("rl", "login", "acct", acct),
        ],
        args=[IP_WINDOW, ACCOUNT_IP_WINDOW, ACCOUNT_WINDOW],
    )
    failures = int(results[2])
    if failures > ACCOUNT_FREE_FAILURES:
        backoff = min(2 ** (failures - ACCOUNT_FREE_FAILURES), MAX_BACKOFF_SECONDS)
        await r.set(resources.key("rl", "login", "lock", acct), "1", ex=backoff)


async def login_succeeded(resources: Resources, account: str, address: str | None) -> None:
    r, acct, addr = resources.redis, _id(account), _addr(address)
    known = resources.key("rl", "login", "known", acct)
    async with r.pipeline(transaction=True) as pipe:
        pipe.delete(
            resources.key("rl", "login", "acct-ip", acct, addr),
            resources.key("rl", "login", "acct", acct),
            resources.key("rl", "login", "lock", acct),
        )
        pipe.sadd(known, addr)
        pipe.expire(known, KNOWN_ADDRESS_SECONDS)
        await pipe.execute()
