"""What accounts hand out and take back: session tokens (access + refresh, by family), single-use
tokens (email verification, password reset) and the mail that carries them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit, mail, tokens
from domain.authentication import revoke_family_access
from domain.errors import BadInput, Unauthenticated
from domain.hooks import Hooks
from domain.transactions import separate_transaction
from persistence.accounts import AccountsRepository, OneTimeToken, RefreshToken
from persistence.user import User, UserRepository

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from runtime.resources import Resources

BAD_LINK = "This link is invalid or has expired."


@dataclass
class AuthResult:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    token_type: str = "bearer"


@dataclass
class Client:
    """Where a request comes from (for rate limits, refresh-token rows and the audit log)."""

    address: str | None = None
    user_agent: str | None = None


def utcnow() -> datetime:
    return datetime.now(UTC)


async def issue_tokens(
    session: AsyncSession,
    resources: Resources,
    user: User,
    client: Client,
    *,
    family_id: uuid.UUID | None = None,
    parent: uuid.UUID | None = None,
) -> AuthResult:
    settings = resources.settings
    family = family_id or uuid.uuid4()
    access, _ = tokens.encode(
        settings,
        sub=user.id,
        type=tokens.ACCESS,
        jti=uuid.uuid4().hex,
        lifetime=tokens.access_lifetime(settings),
        fam=str(family),  # revoking the session (family) revokes its access tokens at once
    )
    jti = uuid.uuid4()
    refresh, refresh_exp = tokens.encode(
        settings, sub=user.id, type=tokens.REFRESH, jti=str(jti), lifetime=tokens.refresh_lifetime(settings)
    )
    AccountsRepository(session).add(
        RefreshToken(
            jti=jti,
            family_id=family,
            user_id=user.id,
            parent_jti=parent,
            expires_at=refresh_exp,
            client_address=(client.address or None) and client.address[:64],
            user_agent=(client.user_agent or None) and client.user_agent[:300],
        )
    )
    await session.flush()
    return AuthResult(
        access_token=access,
        refresh_token=refresh,
        expires_in=int(tokens.access_lifetime(settings).total_seconds()),
        user=user,
    )


def family_revoker(
    resources: Resources, family_id: uuid.UUID, user_id: uuid.UUID, client: Client
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        async with separate_transaction(resources.sessionmaker, why="SURVIVES_ROLLBACK") as session:
            await AccountsRepository(session).revoke_family(family_id, utcnow())
            await revoke_family_access(resources, family_id)
            audit.record(
                session,
                audit.TOKEN_REUSE,
                actor_id=None,
                target_type="User",
                target_id=user_id,
                address=client.address,
                family=str(family_id),
            )

    return run


async def one_time_token(
    session: AsyncSession, resources: Resources, user: User, purpose: str, lifetime: timedelta, **extra: Any
) -> str:
    row = OneTimeToken(id=uuid.uuid4(), user_id=user.id, purpose=purpose, expires_at=utcnow() + lifetime)
    AccountsRepository(session).add(row)
    token, _ = tokens.encode(
        resources.settings, sub=user.id, type=purpose, jti=str(row.id), lifetime=lifetime, **extra
    )
    return token


async def spend_one_time_token(
    session: AsyncSession, resources: Resources, token: str, purpose: str, field: str = "token"
) -> tuple[User, tokens.Claims]:
    try:
        claims = tokens.decode(resources.settings, token, purpose)
        token_id = uuid.UUID(claims.jti)
    except (Unauthenticated, ValueError):
        raise BadInput(BAD_LINK, field=field) from None
    repo = AccountsRepository(session)
    row = await repo.one_time_token(token_id, for_update=True)
    now = utcnow()
    if (
        row is None
        or row.purpose != purpose
        or row.user_id != claims.sub
        or row.used_at is not None
        or row.expires_at <= now
    ):
        raise BadInput(BAD_LINK, field=field)
    user = await UserRepository(session).get(row.user_id)
    if user is None or not user.is_active:
        raise BadInput(BAD_LINK, field=field)
    row.used_at = now
    return user, claims


def mail_after_commit(resources: Resources, hooks: Hooks, to: str, subject: str, body: str) -> None:
    async def run() -> None:
        await mail.send(resources.settings, to, subject, body)

    hooks.after_commit(run)
