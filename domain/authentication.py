"""Authentication of requests: bearer access tokens and partner API keys.

Every authentication checks the token's signature, type and expiry, its `jti` against the
Redis revocation list, and the user's current state (active, password not changed since
the token was issued, roles). That state is cached in Redis for a few seconds and dropped
whenever it changes (`forget_user`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from domain import tokens
from domain.errors import Unauthenticated
from domain.hooks import Hooks
from domain.identity import Principal
from domain.transactions import separate_read
from persistence.enums import Role

if TYPE_CHECKING:
    from runtime.resources import Resources

AUTH_STATE_TTL_SECONDS = 30


@dataclass(frozen=True)
class AuthState:
    active: bool
    password_changed_at: float | None
    roles: list[tuple[Role, float | None]]

    def current_roles(self, now: float) -> frozenset[Role]:
        return frozenset(r for r, exp in self.roles if exp is None or exp > now)

    @classmethod
    def from_json(cls, data: Any) -> AuthState | None:
        """The cached form; None (JSON null) caches "no such account"."""
        if data is None:
            return None
        return cls(data["active"], data["changed"], [(Role(r), e) for r, e in data["roles"]])


def state_key(resources: Resources, user_id: uuid.UUID) -> str:
    return resources.key("auth", "user", str(user_id))


async def load_auth_state(
    resources: Resources, user_id: uuid.UUID, *, cached: bool = False
) -> AuthState | None:
    """The account's state from PostgreSQL, cached in Redis for AUTH_STATE_TTL_SECONDS.
    `cached`: look in Redis first (callers that already looked pass False)."""
    key = state_key(resources, user_id)
    if cached:
        hit = await resources.redis.get(key)
        if hit:
            return AuthState.from_json(json.loads(hit))
    from persistence.user import UserRepository

    async with separate_read(resources.sessionmaker, why="AUTHENTICATION") as session:
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
    await resources.redis.delete(state_key(resources, user_id))


def forget_after_commit(resources: Resources, hooks: Hooks, user_id: uuid.UUID) -> None:
    async def run() -> None:
        await forget_user(resources, user_id)

    hooks.after_commit(run)


def _ttl_until(expires_at: datetime | None) -> int:
    remaining = ((expires_at or datetime.now(UTC)) - datetime.now(UTC)).total_seconds()
    return max(int(remaining) + tokens.LEEWAY_SECONDS + 1, 1)


async def revoke_jti(resources: Resources, jti: str, expires_at: datetime | None) -> None:
    """Refuse this access token until it would have expired anyway."""
    from domain.admission import revoked_key

    await resources.redis.set(revoked_key(resources, jti), "1", ex=_ttl_until(expires_at))


async def revoke_family_access(resources: Resources, family_id: uuid.UUID | str) -> None:
    """Refuse every access token issued to this session (refresh family) from now on: they
    carry the family in their `fam` claim and live at most one access-token lifetime."""
    from domain.admission import revoked_family_key

    lifetime = tokens.access_lifetime(resources.settings)
    await resources.redis.set(
        revoked_family_key(resources, str(family_id)), "1", ex=_ttl_until(datetime.now(UTC) + lifetime)
    )


async def authenticate_http(
    resources: Resources, headers: Mapping[str, str], address: str | None
) -> Principal:
    """The caller of an HTTP request (no operation counted; see domain.admission)."""
    api_key = headers.get("x-api-key")
    if api_key:
        from domain.partner import authenticate_api_key

        return await authenticate_api_key(resources, api_key, address)
    value = headers.get("authorization")
    if value:
        return await authenticate_bearer(resources, value, address)
    return Principal.anonymous(address)


async def authenticate_bearer(resources: Resources, value: str, address: str | None) -> Principal:
    from domain.admission import admit_bearer

    return (await admit_bearer(resources, value, address, count_operation=False)).principal


async def current_roles(
    resources: Resources, user_id: uuid.UUID, *, issued_at: float | None = None
) -> frozenset[Role]:
    """The user's roles now; UNAUTHENTICATED when the account is gone, inactive, or the
    credential predates its last password change."""
    return current_roles_from(await load_auth_state(resources, user_id, cached=True), issued_at=issued_at)


def current_roles_from(state: AuthState | None, *, issued_at: float | None = None) -> frozenset[Role]:
    if state is None or not state.active:
        raise Unauthenticated("The token is not valid.")
    if (
        issued_at is not None
        and state.password_changed_at is not None
        and issued_at < state.password_changed_at
    ):
        raise Unauthenticated("The token is no longer valid; sign in again.")
    return state.current_roles(datetime.now(UTC).timestamp())
