"""Users' own provider keys (BYOK): stored encrypted, with their endpoint checked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import BadInput
from persistence.ai import AIRepository, ProviderCredential
from providers.ai.registry import (
    own_key_policy,
)

if TYPE_CHECKING:
    from domain.identity import Principal
    from runtime.resources import Resources


BYOK_PROVIDERS = ("openai", "anthropic", "gemini", "elevenlabs")
"""Providers a user may bring a key of their own for."""


async def _check_base_url(resources: Resources, base_url: str | None) -> str | None:
    """An own endpoint must be an absolute http(s) URL (only https in production) on an allowed
    port, resolving to public addresses unless private ones are allowed. This early check gives a
    clear error; every connection is checked again when it is made (providers/net.py)."""
    from urllib.parse import urlsplit

    from providers.net import OutboundRefusedError, UnresolvableHostError

    value = (base_url or "").strip()
    if not value:
        return None
    if len(value) > 500:
        raise BadInput("The base URL is too long.", field="baseUrl")
    settings = resources.settings
    allowed = ("https",) if settings.environment == "production" else ("https", "http")
    parts = urlsplit(value)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BadInput("The base URL has an invalid port.", field="baseUrl") from None
    if parts.scheme not in allowed or not parts.hostname:
        raise BadInput(f"The base URL must be an absolute {' or '.join(allowed)} URL.", field="baseUrl")
    policy = own_key_policy(settings)
    if policy.ports is not None and port not in policy.ports:
        ports = ", ".join(str(p) for p in sorted(policy.ports))
        raise BadInput(f"The base URL's port must be one of: {ports}.", field="baseUrl")
    if not policy.allow_private:
        try:
            await policy.addresses(parts.hostname, port)
        except (OutboundRefusedError, UnresolvableHostError):
            raise BadInput("The base URL must point at a public internet address.", field="baseUrl") from None
    return value


async def set_provider_key(
    session: AsyncSession,
    resources: Resources,
    principal: Principal,
    provider: str,
    api_key: str,
    base_url: str | None,
) -> ProviderCredential:
    from domain.crypto import encrypt

    user_id = principal.require_user()
    name = (provider or "").strip().lower()
    if name not in BYOK_PROVIDERS:
        raise BadInput(f"Unknown provider; one of: {', '.join(BYOK_PROVIDERS)}.", field="provider")
    key = (api_key or "").strip()
    if not 8 <= len(key) <= 500:
        raise BadInput("The API key must be 8 to 500 characters.", field="apiKey")
    url = await _check_base_url(resources, base_url)
    repo = AIRepository(session)
    row = await repo.credential(user_id, name)
    if row is None:
        row = ProviderCredential(
            user_id=user_id, provider=name, encrypted_key=encrypt(resources.settings, key), base_url=url
        )
        session.add(row)
    else:
        row.encrypted_key, row.base_url = encrypt(resources.settings, key), url
        row.updated_at = datetime.now(UTC)
    await session.flush()
    await session.refresh(row)
    return row


async def delete_provider_key(session: AsyncSession, principal: Principal, provider: str) -> bool:
    return await AIRepository(session).delete_credential(
        principal.require_user(), (provider or "").strip().lower()
    )


async def provider_keys(session: AsyncSession, principal: Principal) -> list[ProviderCredential]:
    return await AIRepository(session).credentials(principal.require_user())
