"""Partner API keys: "X-Api-Key: av_<prefix>_<secret>". The key is shown once at creation;
only its SHA-256 is stored (the secret is 256 random bits, so a slow hash adds nothing)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit
from domain.authentication import current_roles
from domain.errors import BadInput, Forbidden, NotFound, Unauthenticated
from domain.identity import Principal
from domain.permissions import Permission
from domain.transactions import separate_transaction
from persistence.partner import ApiKey, PartnerRepository

if TYPE_CHECKING:
    from runtime.resources import Resources

KEY_RE = re.compile(r"av_([0-9a-f]{12})_([A-Za-z0-9_-]{40,64})")
MAX_LIVE_KEYS = 25
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(
    session: AsyncSession,
    principal: Principal,
    name: str,
    expires_at: datetime | None,
    *,
    address: str | None,
) -> tuple[ApiKey, str]:
    """The new key's row and the key itself (never retrievable again)."""
    user_id = principal.require(Permission.USER_UPDATE)
    if principal.api_key_id is not None:
        raise Forbidden("An API key cannot create API keys.")
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise BadInput("Name the key (1 to 100 characters).", field="name")
    if expires_at is not None and (expires_at.tzinfo is None or expires_at <= datetime.now(UTC)):
        raise BadInput("The expiry must be in the future, with a time-zone offset.", field="expiresAt")
    repo = PartnerRepository(session)
    if await repo.count_live_api_keys(user_id) >= MAX_LIVE_KEYS:
        raise BadInput(f"At most {MAX_LIVE_KEYS} live keys; revoke one first.")
    prefix = secrets.token_hex(6)
    key = f"av_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        id=uuid.uuid4(), user_id=user_id, name=name, prefix=prefix, key_hash=_hash(key), expires_at=expires_at
    )
    repo.add(row)
    audit.record(
        session,
        audit.API_KEY_CREATED,
        actor_id=user_id,
        target_type="ApiKey",
        target_id=row.id,
        address=address,
        prefix=prefix,
    )
    await session.flush()
    await session.refresh(row)
    return row, key


async def list_api_keys(session: AsyncSession, principal: Principal) -> list[ApiKey]:
    user_id = principal.require(Permission.USER_UPDATE)
    return await PartnerRepository(session).api_keys_of(user_id)


async def revoke_api_key(
    session: AsyncSession, principal: Principal, key_id: uuid.UUID, *, address: str | None
) -> bool:
    user_id = principal.require(Permission.USER_UPDATE)
    row = await PartnerRepository(session).api_key(key_id)
    if row is None or not principal.owns_or_can(row.user_id, Permission.ADMIN_USER_MANAGE):
        raise NotFound("No such API key.")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        audit.record(
            session,
            audit.API_KEY_REVOKED,
            actor_id=user_id,
            target_type="ApiKey",
            target_id=row.id,
            address=address,
            owner=str(row.user_id),
        )
        await session.flush()
    return True


async def authenticate_api_key(resources: Resources, key: str, address: str | None) -> Principal:
    match = KEY_RE.fullmatch(key.strip())
    if match is None:
        raise Unauthenticated("The API key is not valid.")
    now = datetime.now(UTC)
    async with separate_transaction(resources.sessionmaker, why="AUTHENTICATION") as session:
        row = await PartnerRepository(session).api_key_by_prefix(match.group(1))
        if (
            row is None
            or not hmac.compare_digest(row.key_hash, _hash(key.strip()))
            or row.revoked_at is not None
            or (row.expires_at is not None and row.expires_at <= now)
        ):
            raise Unauthenticated("The API key is not valid.")
        user_id, key_id = row.user_id, row.id
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
            row.last_used_at = now
    roles = await current_roles(resources, user_id)
    return Principal.for_user(user_id, roles, api_key_id=key_id, client_address=address)
