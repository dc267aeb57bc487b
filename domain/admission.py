"""Admitting a request: who is asking and whether they may ask now, in one Redis round trip.

A bearer token is verified locally (signature, type, expiry); then one Lua script asks Redis, in
one round trip, whether the token or its session (refresh family) was revoked, reads the
account's cached state, and counts the operation against the caller's per-minute ceiling. Only
when the account state is not cached does a second trip (PostgreSQL, then SET) follow. The
script uses only commands Redis 6.2 has (the embedded default)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import NoScriptError, RedisError

from domain import tokens
from domain.authentication import AuthState, current_roles_from, load_auth_state, state_key
from domain.errors import Throttled, Unauthenticated
from domain.identity import Principal
from domain.ratelimit import operation_bucket

if TYPE_CHECKING:
    from runtime.resources import Resources

log = logging.getLogger(__name__)

OPERATION_WINDOW_SECONDS = 60

# KEYS: [1] revoked access token, [2] revoked session (family), [3] account state,
#       [4] operation counter ("" when not counting).  ARGV: [1] window seconds.
# Returns {revocations, state or false, count, ttl}.
_SCRIPT = """
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
return {revoked, state, count, ttl}
"""


@dataclass(frozen=True)
class Admission:
    principal: Principal
    throttled: Throttled | None = None
    """The caller is past its operation ceiling: refuse the operation with this error."""
    claims: tokens.Claims | None = None
    """The bearer token's claims, when the caller sent one."""


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
        self.pending: list[tuple[list[str], asyncio.Future[Any]]] = []
        self.batches = 0
        """Pipelines sent (tests count them)."""

    def submit(self, keys: list[str]) -> asyncio.Future[Any]:
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

    async def _send(self, batch: list[tuple[list[str], asyncio.Future[Any]]]) -> None:
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

    async def _execute(self, batch: list[tuple[list[str], asyncio.Future[Any]]]) -> list[Any]:
        for attempt in (1, 2):
            self.batches += 1
            async with self.redis.pipeline(transaction=False) as pipe:
                for keys, _ in batch:
                    pipe.evalsha(self.sha, len(keys), *keys, OPERATION_WINDOW_SECONDS)
                replies: list[Any] = await pipe.execute(raise_on_error=False)
            if attempt == 1 and any(isinstance(r, NoScriptError) for r in replies):
                await self.redis.script_load(_SCRIPT)
                continue
            return replies
        return replies


_sending: set[asyncio.Future[None]] = set()


def _batch(resources: Resources) -> _Batch:
    batch = getattr(resources.redis, "_autovideo_admission", None)
    if batch is None:
        batch = _Batch(resources.redis)
        resources.redis._autovideo_admission = batch  # type: ignore[attr-defined]
    return batch


async def _run(resources: Resources, keys: list[str]) -> tuple[int, bytes | None, int, int]:
    revoked, state, count, ttl = await _batch(resources).submit(keys)
    return int(revoked), state or None, int(count), int(ttl)


def _verdict(count: int, limit: int, ttl: int) -> Throttled | None:
    if limit > 0 and count > limit:
        return Throttled("Too many requests; try again later.", retry_after=max(ttl, 1))
    return None


async def admit_bearer(
    resources: Resources, value: str, address: str | None, *, count_operation: bool
) -> Admission:
    """UNAUTHENTICATED for a malformed, expired or revoked token or an inactive account."""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Use an Authorization header of the form 'Bearer <accessToken>'.")
    claims = tokens.decode(resources.settings, token.strip(), tokens.ACCESS)
    family = str(claims.extra.get("fam") or "")
    bucket = operation_bucket(resources, claims.sub, address) if count_operation else None
    keys = [
        revoked_key(resources, claims.jti),
        revoked_family_key(resources, family) if family else revoked_key(resources, claims.jti),
        state_key(resources, claims.sub),
        bucket[0] if bucket else "",
    ]
    revoked, cached, count, ttl = await _run(resources, keys)
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
    return Admission(principal, _verdict(count, bucket[1], ttl) if bucket else None, claims)


async def count_operation(resources: Resources, principal: Principal) -> Throttled | None:
    """Count one operation of an already known caller (API keys, anonymous callers, tests);
    a ceiling, not a gate: while Redis is away the API keeps answering."""
    bucket = operation_bucket(resources, principal.user_id, principal.client_address)
    if bucket is None:
        return None
    try:
        keys = [revoked_key(resources, "-"), revoked_key(resources, "-"), "", bucket[0]]
        _, _, count, ttl = await _run(resources, keys)
    except RedisError:
        log.warning("rate limit skipped: Redis unavailable")
        return None
    return _verdict(count, bucket[1], ttl)


async def admit_http(
    resources: Resources, *, bearer: str | None, api_key: str | None, address: str | None
) -> Admission:
    """An HTTP request: its principal, and its one operation counted."""
    if api_key:
        from domain.partner import authenticate_api_key

        principal = await authenticate_api_key(resources, api_key, address)
    elif bearer:
        return await admit_bearer(resources, bearer, address, count_operation=True)
    else:
        principal = Principal.anonymous(address)
    return Admission(principal, await count_operation(resources, principal))
