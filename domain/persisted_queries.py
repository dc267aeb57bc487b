"""Persisted GraphQL documents: Apollo APQ (clients send a SHA-256 instead of the document)
and an allow-list that partners on API keys are held to when settings.persisted_queries_only."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit
from domain.errors import BadInput, DomainError
from domain.identity import Principal
from domain.permissions import Permission
from persistence.partner import PartnerRepository

if TYPE_CHECKING:
    from runtime.resources import Resources

SHA_RE = re.compile(r"[0-9a-f]{64}")
MAX_DOCUMENT_CHARS = 100_000


class PersistedQueryNotFound(DomainError):
    code = "PERSISTED_QUERY_NOT_FOUND"


class PersistedQueryNotAllowed(DomainError):
    code = "PERSISTED_QUERY_NOT_ALLOWED"


def sha256_of(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _restricted(resources: Resources, principal: Principal) -> bool:
    return resources.settings.persisted_queries_only and principal.api_key_id is not None


async def resolve(
    resources: Resources, principal: Principal, persisted: Any, query: str | None
) -> str | None:
    """The document to run. `persisted` is extensions.persistedQuery (None when absent)."""
    if persisted is None:
        if _restricted(resources, principal):
            raise PersistedQueryNotAllowed("Only allow-listed persisted queries may be run with an API key.")
        return query
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise BadInput("persistedQuery must be {version: 1, sha256Hash}.", field="persistedQuery")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not SHA_RE.fullmatch(digest):
        raise BadInput("persistedQuery.sha256Hash must be 64 lower-case hex digits.", field="persistedQuery")
    async with resources.sessionmaker() as session:
        repo = PartnerRepository(session)
        stored = await repo.document(digest)
        if query is not None:
            if sha256_of(query) != digest:
                raise BadInput("provided sha does not match query", field="persistedQuery")
            if stored is None and len(query) <= MAX_DOCUMENT_CHARS and not _restricted(resources, principal):
                await repo.save_document(digest, query, None)
                await session.commit()
        elif stored is None:
            raise PersistedQueryNotFound("PersistedQueryNotFound")
        if _restricted(resources, principal) and not (stored is not None and stored.allowlisted):
            raise PersistedQueryNotAllowed("Only allow-listed persisted queries may be run with an API key.")
        return query if query is not None else stored.document if stored is not None else None


async def allowlist(
    session: AsyncSession,
    principal: Principal,
    document: str,
    operation_name: str | None,
    *,
    address: str | None,
) -> str:
    """Register a document partners may run; returns its SHA-256."""
    actor = principal.require(Permission.ADMIN_SYSTEM_CONFIG)
    if not document.strip() or len(document) > MAX_DOCUMENT_CHARS:
        raise BadInput("The document is empty or too long.", field="document")
    digest = sha256_of(document)
    await PartnerRepository(session).save_document(digest, document, operation_name, allowlisted=True)
    audit.record(
        session,
        audit.DOCUMENT_ALLOWLISTED,
        actor_id=actor,
        target_type="PersistedDocument",
        target_id=digest[:64],
        address=address,
        operation=operation_name,
    )
    return digest
