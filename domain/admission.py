"""Admitting a request: who is asking and whether they may ask now, in one Redis round trip.

A bearer token is verified locally (signature, type, expiry) as soon as the request arrives
(`verify_http`); then, once the operation's cost is known (its document validated), one Lua
script asks Redis, in one round trip, whether the token or its session (refresh family) was
revoked, reads the account's cached state, counts the operation against the caller's per-minute
ceiling and charges its cost to the caller's bucket (domain/rate_budget.py). Only when the
account state is not cached does a second trip (PostgreSQL, then SET) follow. The script uses
only commands Redis 6.2 has (the embedded default)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import NoScriptError, RedisError

from domain import rate_budget, tokens
from domain.authentication import AuthState, current_roles_from, load_auth_state, state_key
from domain.errors import Throttled, Unauthenticated
from domain.identity import Principal
from domain.rate_budget import Budget
from domain.ratelimit import operation_bucket

if TYPE_CHECKING:
    from runtime.resources import Resources

log = logging.getLogger(__name__)

OPERATION_WINDOW_SECONDS = 60

# KEYS: [1] revoked access token, [2] revoked session (family), [3] account state,
#       [4] operation counter ("" when not counting), [5] cost bucket ("" when off).
# ARGV: [1] window seconds, [2..5] the bucket's (rate_budget.script_arguments), [6] the
#       operation ceiling (the bucket is not charged past it).
# Returns {revocations, state or false, count, ttl, bucket reply or false}.
_SCRIPT = (
    """
local revoked = redis.call('EXISTS', KEYS[1], KEYS[2])
local state = false
if KEYS[3] ~= '' then state = redis.call('GET', KEYS[3]) end
local count, ttl = 0, -2
if KEYS[4] ~= '' then
  count = redis.call('INCR', KEYS[4])
  ttl = redis.call('TTL', KEYS[4])
  if ttl < 0 then
    redis.call('EXPIRE', KEYS[4], ARGV[1])
    ttl = tonumber(ARGV[1])
  end
end
local over_count = revoked > 0 or (tonumber(ARGV[6]) > 0 and count > tonumber(ARGV[6]))
"""
    + rate_budget.LUA
    + """
return {revoked, state, count, ttl, budget}
"""
)


@dataclass(frozen=True)
class Admission:
    principal: Principal
    throttled: Throttled | None = None
    """The caller is past its operation ceiling: refuse the operation with this error."""
    claims: tokens.Claims | None = None
    """The bearer token's claims, when the caller sent one."""
    budget: Budget | None = None
    """The caller's cost bucket after this operation's charge (None: budget off, Redis away)."""
    pending: bool = False
    """Verified locally only (`verify_http`): `complete` checks it in Redis and charges it."""


def revoked_key(resources: Resources, jti: str) -> str:
    return resources.key("auth", "revoked", jti)


def revoked_family_key(resources: Resources, family: str) -> str:
    return resources.key("auth", "revoked-family", family)


class _Batch:
    """Admissions of requests that arrive together go to Redis as one pipeline.

    Under load, requests whose bytes arrived in the same event-loop turn all reach admission
    before the loop turns again; the first schedules a flush for the next turn, the others join
    it. Each request still costs one round trip (fewer: they share it), and a lone request waits
    one loop turn. EVALSHA in a plain pipeline; a server that lost the script (restart, SCRIPT
    FLUSH) gets it loaded again and the batch is retried once."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.sha = hashlib.sha1(_SCRIPT.encode()).hexdigest()
        self.pending: list[tuple[list[Any], asyncio.Future[Any]]] = []
        self.batches = 0
        """Pipelines sent (tests count them)."""

    def submit(self, keys: list[Any]) -> asyncio.Future[Any]:
        """`keys`: the script's 5 keys followed by ARGV[2..]."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self.pending:
            loop.call_soon(self._flush)
        self.pending.append((keys, future))
        return future

    def _flush(self) -> None:
        batch, self.pending = self.pending, []
        task = asyncio.ensure_future(self._send(batch))
        _sending.add(task)
        task.add_done_callback(_sending.discard)

    async def _send(self, batch: list[tuple[list[Any], asyncio.Future[Any]]]) -> None:
        try:
            replies = await self._execute(batch)
        except Exception as exc:  # Redis away: every request of the batch gets the error
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _execute(self, batch: list[tuple[list[Any], asyncio.Future[Any]]]) -> list[Any]:
        for attempt in (1, 2):
            self.batches += 1
            async with self.redis.pipeline(transaction=False) as pipe:
                for keys, _ in batch:
                    pipe.evalsha(self.sha, _KEYS, *keys[:_KEYS], OPERATION_WINDOW_SECONDS, *keys[_KEYS:])
                replies: list[Any] = await pipe.execute(raise_on_error=False)
            if attempt == 1 and any(isinstance(r, NoScriptError) for r in replies):
                await self.redis.script_load(_SCRIPT)
                continue
            return replies
        return replies


_sending: set[asyncio.Future[None]] = set()
_KEYS = 5


def _batch(resources: Resources) -> _Batch:
    batch = getattr(resources.redis, "_autovideo_admission", None)
    if batch is None:
        batch = _Batch(resources.redis)
        resources.redis._autovideo_admission = batch  # type: ignore[attr-defined]
    return batch


async def _run(
    resources: Resources,
    keys: list[str],
    *,
    bucket: rate_budget.Bucket | None = None,
    cost: int = 0,
    ceiling: int = 0,
) -> tuple[int, bytes | None, int, int, Budget | None]:
    args = [*rate_budget.script_arguments(bucket, cost), ceiling]
    revoked, state, count, ttl, charged = await _batch(resources).submit(
        [*keys, bucket.key if bucket else "", *args]
    )
    budget = rate_budget.verdict(bucket, charged, cost) if bucket is not None else None
    return int(revoked), state or None, int(count), int(ttl), budget


def _verdict(count: int, limit: int, ttl: int, budget: Budget | None = None) -> Throttled | None:
    if limit > 0 and count > limit:
        return Throttled("Too many requests; try again later.", retry_after=max(ttl, 1))
    return budget.throttled if budget is not None else None


def verify_http(resources: Resources, *, bearer: str | None, address: str | None) -> Admission:
    """Before an HTTP request's body is read: its bearer token verified locally (UNAUTHENTICATED
    when malformed or expired). No Redis yet: `complete` checks revocation and charges the
    operation once its cost is known."""
    if not bearer:
        return Admission(Principal.anonymous(address), pending=True)
    claims = _decode(resources, bearer)
    principal = Principal.for_user(
        claims.sub,
        frozenset(),
        token_jti=claims.jti,
        token_expires_at=claims.expires_at,
        client_address=address,
    )
    return Admission(principal, claims=claims, pending=True)


async def complete(resources: Resources, admission: Admission, cost: int) -> Admission:
    """A pending HTTP admission checked and charged, in the one round trip."""
    if admission.claims is not None:
        return await admit_claims(
            resources, admission.claims, admission.principal.client_address, count_operation=True, cost=cost
        )
    return await count_operation(resources, admission.principal, cost)


def _decode(resources: Resources, value: str) -> tokens.Claims:
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Use an Authorization header of the form 'Bearer <accessToken>'.")
    return tokens.decode(resources.settings, token.strip(), tokens.ACCESS)


async def admit_bearer(
    resources: Resources, value: str, address: str | None, *, count_operation: bool, cost: int = 1
) -> Admission:
    """UNAUTHENTICATED for a malformed, expired or revoked token or an inactive account."""
    return await admit_claims(
        resources, _decode(resources, value), address, count_operation=count_operation, cost=cost
    )


async def admit_claims(
    resources: Resources, claims: tokens.Claims, address: str | None, *, count_operation: bool, cost: int = 1
) -> Admission:
    """A verified token's claims checked in Redis (revocation, account state); with
    `count_operation`, the operation counted and its cost charged, in the same round trip."""
    family = str(claims.extra.get("fam") or "")
    bucket = operation_bucket(resources, claims.sub, address) if count_operation else None
    user = Principal.for_user(claims.sub, frozenset(), client_address=address)
    budget_bucket = rate_budget.bucket_of(resources, user) if count_operation else None
    keys = [
        revoked_key(resources, claims.jti),
        revoked_family_key(resources, family) if family else revoked_key(resources, claims.jti),
        state_key(resources, claims.sub),
        bucket[0] if bucket else "",
    ]
    revoked, cached, count, ttl, budget = await _run(
        resources, keys, bucket=budget_bucket, cost=cost, ceiling=bucket[1] if bucket else 0
    )
    if revoked:
        raise Unauthenticated("The token has been revoked.")
    state: AuthState | None
    if cached is not None:
        state = AuthState.from_json(json.loads(cached))
    else:
        state = await load_auth_state(resources, claims.sub)
    roles = current_roles_from(state, issued_at=claims.issued_at)
    principal = Principal.for_user(
        claims.sub, roles, token_jti=claims.jti, token_expires_at=claims.expires_at, client_address=address
    )
    throttled = _verdict(count, bucket[1], ttl, budget) if bucket else None
    return Admission(principal, throttled, claims, budget)


async def count_operation(resources: Resources, principal: Principal, cost: int = 1) -> Admission:
    """Count one operation of an already known caller (API keys, anonymous callers, tests) and
    charge its cost; a ceiling, not a gate: while Redis is away the API keeps answering."""
    bucket = operation_bucket(resources, principal.user_id, principal.client_address)
    budget_bucket = rate_budget.bucket_of(resources, principal)
    if bucket is None and budget_bucket is None:
        return Admission(principal)
    try:
        keys = [revoked_key(resources, "-"), revoked_key(resources, "-"), "", bucket[0] if bucket else ""]
        _, _, count, ttl, budget = await _run(
            resources, keys, bucket=budget_bucket, cost=cost, ceiling=bucket[1] if bucket else 0
        )
    except RedisError:
        log.warning("rate limit skipped: Redis unavailable")
        return Admission(principal)
    return Admission(principal, _verdict(count, bucket[1] if bucket else 0, ttl, budget), budget=budget)


async def admit_http(
    resources: Resources, *, bearer: str | None, api_key: str | None, address: str | None
) -> Admission:
    """An HTTP request's caller, its token or key verified; pending (see `complete`)."""
    if api_key:
        from domain.partner import authenticate_api_key

        principal = await authenticate_api_key(resources, api_key, address)
        return Admission(principal, pending=True)
    return verify_http(resources, bearer=bearer, address=address)
