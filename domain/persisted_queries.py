"""Persisted GraphQL documents: Apollo APQ (clients send a SHA-256 instead of the document)
and an allow-list that partners on API keys are held to when settings.persisted_queries_only.

Storing is separate from resolving: `resolve` only looks a hash up (and says whether the caller
sent a document that is not stored yet); `register` stores it, and is called by the GraphQL
layer only after the operation passed the rate limit, parsed and validated. Each caller (user,
or anonymous address) may store `persisted_queries_per_day` new documents and
`persisted_query_bytes_per_day` bytes a day (Redis counters with a TTL); a document over
`persisted_query_max_bytes` is never stored. A document that is not stored still runs."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit
from domain.errors import BadInput, DomainError
from domain.identity import Principal
from domain.permissions import Permission
from domain.transactions import separate_read, separate_transaction
from persistence.partner import PartnerRepository

if TYPE_CHECKING:
    from runtime.resources import Resources

log = logging.getLogger(__name__)

SHA_RE = re.compile(r"[0-9a-f]{64}")
MAX_DOCUMENT_CHARS = 100_000
"""Largest document an admin may allow-list."""
QUOTA_WINDOW_SECONDS = 24 * 3600

# Why a document the caller sent was not stored (response `extensions.persistedQuery.code`).
TOO_LARGE = "PERSISTED_QUERY_TOO_LARGE"
QUOTA_EXCEEDED = "PERSISTED_QUERY_QUOTA_EXCEEDED"
UNAVAILABLE = "PERSISTED_QUERY_NOT_STORED"

# Count one document against the caller's daily allowance, atomically; over it, undo and say 0.
# HINCRBY/TTL/EXPIRE only: the same on Redis 6.2 (embedded) and 7.
_QUOTA_SCRIPT = """
local size = tonumber(ARGV[1])
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
local bytes = redis.call('HINCRBY', KEYS[1], 'bytes', size)
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
if count > tonumber(ARGV[2]) or bytes > tonumber(ARGV[3]) then
  redis.call('HINCRBY', KEYS[1], 'count', -1)
  redis.call('HINCRBY', KEYS[1], 'bytes', -size)
  return 0
end
return 1
"""


class PersistedQueryNotFound(DomainError):
    code = "PERSISTED_QUERY_NOT_FOUND"


class PersistedQueryNotAllowed(DomainError):
    code = "PERSISTED_QUERY_NOT_ALLOWED"


_known: OrderedDict[str, tuple[str, bool]] = OrderedDict()
"""Stored documents this process has seen: hash → (document, allow-listed)."""
KNOWN_MAX = 2048


def _remember(digest: str, document: str, allowlisted: bool) -> None:
    _known[digest] = (document, allowlisted)
    _known.move_to_end(digest)
    while len(_known) > KNOWN_MAX:
        _known.popitem(last=False)


def sha256_of(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _restricted(resources: Resources, principal: Principal) -> bool:
    return resources.settings.persisted_queries_only and principal.api_key_id is not None


@dataclass(frozen=True)
class Resolved:
    document: str | None
    """The document to run."""
    new_digest: str | None = None
    """Set when the caller sent a document under a hash that is not stored yet: `register` it
    once the operation validated."""


async def resolve(resources: Resources, principal: Principal, persisted: Any, query: str | None) -> Resolved:
    """The document to run. `persisted` is extensions.persistedQuery (None when absent).
    Stores nothing."""
    if persisted is None:
        if _restricted(resources, principal):
            raise PersistedQueryNotAllowed("Only allow-listed persisted queries may be run with an API key.")
        return Resolved(query)
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise BadInput("persistedQuery must be {version: 1, sha256Hash}.", field="persistedQuery")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not SHA_RE.fullmatch(digest):
        raise BadInput("persistedQuery.sha256Hash must be 64 lower-case hex digits.", field="persistedQuery")
    if query is not None and sha256_of(query) != digest:
        raise BadInput("provided sha does not match query", field="persistedQuery")
    restricted = _restricted(resources, principal)
    known = _known.get(digest)
    if known is not None and (known[1] or not restricted):
        # Content-addressed, so a stored document never changes: no database trip by hash.
        _known.move_to_end(digest)
        return Resolved(query if query is not None else known[0])
    async with separate_read(resources.sessionmaker, why="AUTHENTICATION") as session:
        stored = await PartnerRepository(session).document(digest)
    if stored is not None:
        _remember(digest, stored.document, stored.allowlisted)
    if query is None and stored is None:
        raise PersistedQueryNotFound("PersistedQueryNotFound")
    if _restricted(resources, principal):
        if not (stored is not None and stored.allowlisted):
            raise PersistedQueryNotAllowed("Only allow-listed persisted queries may be run with an API key.")
        return Resolved(stored.document)
    if query is not None:
        return Resolved(query, new_digest=digest if stored is None else None)
    assert stored is not None
    return Resolved(stored.document)


def _caller(principal: Principal, address: str | None) -> str:
    ident = f"user:{principal.user_id}" if principal.user_id is not None else f"ip:{address or 'unknown'}"
    return hashlib.sha256(ident.encode()).hexdigest()[:32]


async def register(
    resources: Resources, principal: Principal, address: str | None, digest: str, document: str
) -> str | None:
    """Store a document the caller sent (it passed the rate limit and validated). Returns None
    when it is stored, else the code saying why not; the operation runs either way."""
    settings = resources.settings
    size = len(document.encode("utf-8"))
    if sha256_of(document) != digest or _restricted(resources, principal):
        return UNAVAILABLE
    if size > settings.persisted_query_max_bytes:
        return TOO_LARGE
    key = resources.key("apq", "quota", _caller(principal, address))
    try:
        allowed = await resources.redis.eval(  # type: ignore[misc]
            _QUOTA_SCRIPT,
            1,
            key,
            str(size),
            str(settings.persisted_queries_per_day),
            str(settings.persisted_query_bytes_per_day),
            str(QUOTA_WINDOW_SECONDS),
        )
    except RedisError:
        log.warning("persisted query not stored: Redis unavailable")
        return UNAVAILABLE
    if not allowed:
        return QUOTA_EXCEEDED
    try:
        async with separate_transaction(resources.sessionmaker, why="AUTHENTICATION") as session:
            await PartnerRepository(session).save_document(digest, document, None)
    except SQLAlchemyError as exc:  # the operation itself may still succeed
        log.warning("persisted query not stored: %s", type(exc).__name__)
        return UNAVAILABLE
    _remember(digest, document, False)
    return None


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
