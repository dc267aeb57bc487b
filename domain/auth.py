"""Authentication of requests: bearer access tokens and partner API keys.

Every authentication checks the token's signature, type and expiry, its `jti` against the
Redis revocation list, and the user's current state (active, password not changed since
the token was issued, roles). That state is cached in Redis for a few seconds and dropped
whenever it changes (`forget_user`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from domain import tokens
from domain.errors import Unauthenticated
from domain.identity import Principal
from persistence.enums import Role

if TYPE_CHECKING:
    from runtime.resources import Resources

AUTH_STATE_TTL_SECONDS = 30


class Hooks(Protocol):
    """What the caller runs around the transaction (schema.context.Context provides both)."""

    def after_commit(self, fn: Callable[[], Awaitable[None]]) -> None: ...

    def regardless(self, fn: Callable[[], Awaitable[None]]) -> None: ...


class ImmediateHooks:
    """For callers without a unit of work (CLI, tests): collect, then `run()` after committing."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], Awaitable[None]]] = []

    def after_commit(self, fn: Callable[[], Awaitable[None]]) -> None:
        self.pending.append(fn)

    def regardless(self, fn: Callable[[], Awaitable[None]]) -> None:
        self.pending.append(fn)

    async def run(self) -> None:
        for fn in self.pending:
            await fn()
        self.pending.clear()


@dataclass(frozen=True)
class AuthState:
    active: bool
    password_changed_at: float | None
    roles: list[tuple[Role, float | None]]

    def current_roles(self, now: float) -> frozenset[Role]:
        return frozenset(r for r, exp in self.roles if exp is None or exp > now)


def _state_key(resources: Resources, user_id: uuid.UUID) -> str:
    return resources.key("auth", "user", str(user_id))


def _revoked_key(resources: Resources, jti: str) -> str:
    return resources.key("auth", "revoked", jti)


async def load_auth_state(resources: Resources, user_id: uuid.UUID) -> AuthState | None:
    key = _state_key(resources, user_id)
    cached = await resources.redis.get(key)
    if cached:
        data = json.loads(cached)
        if data is None:
            return None
        return AuthState(data["active"], data["changed"], [(Role(r), e) for r, e in data["roles"]])
    from persistence.user import UserRepository

    async with resources.sessionmaker() as session:
        repo = UserRepository(session)
        user = await repo.get(user_id)
        rows = (await repo.roles_of([user_id]))[user_id] if user else []
        state = None
        if user is not None:
            changed = user.password_changed_at.timestamp() if user.password_changed_at else None
            state = AuthState(
                user.is_active,
                changed,
                [(r.role, r.expires_at.timestamp() if r.expires_at else None) for r in rows],
            )
    payload = (
        None
        if state is None
        else {
            "active": state.active,
            "changed": state.password_changed_at,
            "roles": [[r.value, e] for r, e in state.roles],
        }
    )
    await resources.redis.set(key, json.dumps(payload), ex=AUTH_STATE_TTL_SECONDS)
    return state


async def forget_user(resources: Resources, user_id: uuid.UUID) -> None:
    """Drop the cached auth state; call right after a change commits (and before, to be safe)."""
    await resources.redis.delete(_state_key(resources, user_id))


def forget_after_commit(resources: Resources, hooks: Hooks, user_id: uuid.UUID) -> None:
    async def run() -> None:
        await forget_user(resources, user_id)

    hooks.after_commit(run)


async def revoke_jti(resources: Resources, jti: str, expires_at: datetime | None) -> None:
    """Refuse this access token until it would have expired anyway."""
    ttl = (
        int(((expires_at or datetime.now(UTC)) - datetime.now(UTC)).total_seconds())
        + tokens.LEEWAY_SECONDS
        + 1
    )
    await resources.redis.set(_revoked_key(resources, jti), "1", ex=max(ttl, 1))


async def is_revoked(resources: Resources, jti: str) -> bool:
    return bool(await resources.redis.exists(_revoked_key(resources, jti)))


async def authenticate_http(
    resources: Resources, headers: Mapping[str, str], address: str | None
) -> Principal:
    api_key = headers.get("x-api-key")
    if api_key:
        from domain.partner import authenticate_api_key

        return await authenticate_api_key(resources, api_key, address)
    value = headers.get("authorization")
    if value:
        return await authenticate_bearer(resources, value, address)
    return Principal.anonymous(address)


async def authenticate_bearer(resources: Resources, value: str, address: str | None) -> Principal:
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Use an Authorization header of the form 'Bearer <accessToken>'.")
    claims = tokens.decode(resources.settings, token.strip(), tokens.ACCESS)
    if await is_revoked(resources, claims.jti):
        raise Unauthenticated("The token has been revoked.")
    roles = await current_roles(resources, claims.sub, issued_at=claims.issued_at)
    return Principal.for_user(
        claims.sub, roles, token_jti=claims.jti, token_expires_at=claims.expires_at, client_address=address
    )


async def current_roles(
    resources: Resources, user_id: uuid.UUID, *, issued_at: float | None = None
) -> frozenset[Role]:
    """The user's roles now; UNAUTHENTICATED when the account is gone, inactive, or the
    credential predates its last password change."""
    state = await load_auth_state(resources, user_id)
    if state is None or not state.active:
        raise Unauthenticated("The token is not valid.")
    if (
        issued_at is not None
        and state.password_changed_at is not None
        and issued_at < state.password_changed_at
    ):
        raise Unauthenticated("The token is no longer valid; sign in again.")
    return state.current_roles(datetime.now(UTC).timestamp())
