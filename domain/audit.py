"""The audit log: who did what to whom, when, and from where."""

from __future__ import annotations

import ipaddress
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.identity import Principal
from domain.permissions import Permission
from domain.transactions import separate_transaction
from persistence.audit import AuditEvent, AuditRepository

if TYPE_CHECKING:
    from runtime.resources import Resources

LOGIN = "auth.login"
LOGIN_FAILED = "auth.login_failed"
LOGIN_THROTTLED = "auth.login_throttled"
LOGOUT = "auth.logout"
REGISTER = "auth.register"
REGISTER_REFUSED = "auth.register_refused"
TOKEN_REUSE = "auth.refresh_reuse"
TOKENS_REVOKED = "auth.tokens_revoked"
PASSWORD_CHANGED = "auth.password_changed"
PASSWORD_RESET = "auth.password_reset"
PASSWORD_RESET_REQUESTED = "auth.password_reset_requested"
EMAIL_VERIFIED = "auth.email_verified"
ROLE_GRANTED = "admin.role_granted"
ROLE_REVOKED = "admin.role_revoked"
USER_DEACTIVATED = "admin.user_deactivated"
USER_REACTIVATED = "admin.user_reactivated"
SUBSCRIPTION_SET = "admin.subscription_set"
SUBSCRIPTION_CANCELLED = "admin.subscription_cancelled"
ADMIN_CREATED = "admin.super_admin_created"
API_KEY_CREATED = "partner.api_key_created"
API_KEY_REVOKED = "partner.api_key_revoked"
DOCUMENT_ALLOWLISTED = "admin.document_allowlisted"


def _inet(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def event(
    action: str,
    *,
    actor_id: uuid.UUID | None,
    target_type: str | None = None,
    target_id: object | None = None,
    address: str | None = None,
    message: str | None = None,
    **detail: Any,
) -> AuditEvent:
    if address and _inet(address) is None:
        detail["client"] = address[:64]
    return AuditEvent(
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        client_address=_inet(address),
        detail=detail,
        message=message,
    )


def record(session: AsyncSession, action: str, **kw: Any) -> None:
    """Recorded in the caller's transaction: kept only if the operation commits."""
    AuditRepository(session).add(event(action, **kw))


async def record_detached(resources: Resources, action: str, **kw: Any) -> None:
    """Recorded in a transaction of its own: kept even when the operation fails."""
    async with separate_transaction(resources.sessionmaker, why="SURVIVES_ROLLBACK") as session:
        AuditRepository(session).add(event(action, **kw))


async def list_events(session: AsyncSession, principal: Principal, first: int) -> list[AuditEvent]:
    principal.require(Permission.ADMIN_USER_MANAGE)
    return await AuditRepository(session).audit_events(limit=max(0, min(first, 500)))
