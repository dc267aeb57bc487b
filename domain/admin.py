"""Administration: activating accounts, granting roles (optionally until a date), subscriptions.

Granting or revoking ADMIN or SUPER_ADMIN needs ADMIN_SYSTEM_CONFIG (only SUPER_ADMIN has it),
so an ADMIN cannot raise anyone, themselves included, to their own level or above."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit
from domain.ai.plans import PLANS
from domain.authentication import forget_after_commit
from domain.errors import BadInput, Forbidden, NotFound
from domain.hooks import Hooks
from domain.identity import Principal
from domain.permissions import Permission
from domain.user import active_roles
from persistence.accounts import AccountsRepository
from persistence.enums import Role, SubscriptionStatus
from persistence.user import User, UserRepository, UserRole, UserSubscription

PRIVILEGED = frozenset({Role.ADMIN, Role.SUPER_ADMIN})

if TYPE_CHECKING:
    from runtime.resources import Resources


def _now() -> datetime:
    return datetime.now(UTC)


USERS_PAGE_MAX = 100


async def list_users(
    session: AsyncSession, principal: Principal, containing: str | None, first: int
) -> list[User]:
    """The accounts an administrator looks through: newest first, optionally matching a text."""
    principal.require(Permission.ADMIN_USER_MANAGE)
    if not 1 <= first <= USERS_PAGE_MAX:
        raise BadInput(f"first must be between 1 and {USERS_PAGE_MAX}.", field="first")
    text = (containing or "").strip()
    if len(text) > 254:
        raise BadInput("The search text is too long (254 characters at most).", field="search")
    return await UserRepository(session).newest(containing=text or None, limit=first)


async def _target(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> tuple[uuid.UUID, User]:
    actor = principal.require(Permission.ADMIN_USER_MANAGE)
    repo = UserRepository(session)
    user = await repo.get(user_id)
    if user is None:
        raise NotFound("No such user.")
    held = active_roles((await repo.roles_of([user_id]))[user_id])
    if held & PRIVILEGED and actor != user_id and not principal.can(Permission.ADMIN_SYSTEM_CONFIG):
        raise Forbidden("Only a super admin can manage administrators.")
    return actor, user


def _guard_role(principal: Principal, role: Role) -> None:
    if role in PRIVILEGED and not principal.can(Permission.ADMIN_SYSTEM_CONFIG):
        raise Forbidden("Only a super admin can grant or revoke administrator roles.")


async def _audit(
    session: AsyncSession,
    action: str,
    actor: uuid.UUID,
    user_id: uuid.UUID,
    address: str | None,
    **details: object,
) -> None:
    """Record an administrator's change to user `user_id` in this transaction, and flush."""
    audit.record(
        session, action, actor_id=actor, target_type="User", target_id=user_id, address=address, **details
    )
    await session.flush()


async def set_active(
    session: AsyncSession,
    resources: Resources,
    hooks: Hooks,
    principal: Principal,
    user_id: uuid.UUID,
    active: bool,
    *,
    address: str | None,
) -> User:
    """Deactivating ends every session at once: refresh families are revoked and access tokens
    stop authenticating as soon as the change commits."""
    actor, user = await _target(session, principal, user_id)
    if actor == user_id and not active:
        raise BadInput("You cannot deactivate your own account.", field="id")
    if user.is_active != active:
        user.is_active = active
        if not active:
            await AccountsRepository(session).revoke_all_for_user(user_id, _now())
        await _audit(
            session,
            audit.USER_REACTIVATED if active else audit.USER_DEACTIVATED,
            actor,
            user_id,
            address,
        )
    forget_after_commit(resources, hooks, user_id)
    return user


async def grant_role(
    session: AsyncSession,
    resources: Resources,
    hooks: Hooks,
    principal: Principal,
    user_id: uuid.UUID,
    role: Role,
    expires_at: datetime | None,
    *,
    address: str | None,
) -> User:
    actor, user = await _target(session, principal, user_id)
    _guard_role(principal, role)
    if expires_at is not None and expires_at.tzinfo is None:
        raise BadInput("Give the expiry with a time-zone offset.", field="expiresAt")
    if expires_at is not None and expires_at <= _now():
        raise BadInput("The expiry must be in the future.", field="expiresAt")
    repo = UserRepository(session)
    row = await repo.role(user_id, role)
    if row is None:
        repo.add_role(UserRole(user_id=user_id, role=role, granted_by=actor, expires_at=expires_at))
    else:
        row.expires_at, row.granted_by, row.granted_at = expires_at, actor, _now()
    await _audit(
        session,
        audit.ROLE_GRANTED,
        actor,
        user_id,
        address,
        role=role.name,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    forget_after_commit(resources, hooks, user_id)
    return user


async def revoke_role(
    session: AsyncSession,
    resources: Resources,
    hooks: Hooks,
    principal: Principal,
    user_id: uuid.UUID,
    role: Role,
    *,
    address: str | None,
) -> User:
    actor, user = await _target(session, principal, user_id)
    _guard_role(principal, role)
    if actor == user_id and role in PRIVILEGED:
        raise BadInput("You cannot revoke your own administrator role.", field="role")
    repo = UserRepository(session)
    row = await repo.role(user_id, role)
    if row is not None:
        await repo.delete_role(row)
        await _audit(session, audit.ROLE_REVOKED, actor, user_id, address, role=role.name)
    forget_after_commit(resources, hooks, user_id)
    return user


async def set_subscription(
    session: AsyncSession,
    resources: Resources,
    hooks: Hooks,
    principal: Principal,
    user_id: uuid.UUID,
    plan: str,
    ends_at: datetime | None,
    *,
    address: str | None,
) -> UserSubscription:
    """Start `plan` now (ending any active subscription) and grant its role until `ends_at`;
    a permanent grant of that role is left permanent. Quotas follow from domain.ai.plans.PLANS."""
    actor, _ = await _target(session, principal, user_id)
    if plan not in PLANS:
        raise BadInput(f"Unknown plan; one of: {', '.join(sorted(PLANS))}.", field="plan")
    if ends_at is not None and (ends_at.tzinfo is None or ends_at <= _now()):
        raise BadInput("The end must be in the future, with a time-zone offset.", field="endsAt")
    repo = UserRepository(session)
    now = _now()
    while (current := await repo.active_subscription(user_id)) is not None:
        current.status, current.end_date = SubscriptionStatus.CANCELLED, now
        await session.flush()
    sub = UserSubscription(
        user_id=user_id,
        plan=plan,
        status=SubscriptionStatus.ACTIVE,
        start_date=now,
        end_date=ends_at,
        auto_renew=ends_at is None,
    )
    repo.add_subscription(sub)
    role = PLANS[plan].role
    row = await repo.role(user_id, role)
    if row is None:
        repo.add_role(UserRole(user_id=user_id, role=role, granted_by=actor, expires_at=ends_at))
    elif row.expires_at is not None:
        row.expires_at = ends_at
    await _audit(
        session,
        audit.SUBSCRIPTION_SET,
        actor,
        user_id,
        address,
        plan=plan,
        ends_at=ends_at.isoformat() if ends_at else None,
    )
    forget_after_commit(resources, hooks, user_id)
    return sub


async def cancel_subscription(
    session: AsyncSession,
    resources: Resources,
    hooks: Hooks,
    principal: Principal,
    user_id: uuid.UUID,
    *,
    address: str | None,
) -> bool:
    """End the active subscription now; a time-limited grant of its role ends with it."""
    actor, _ = await _target(session, principal, user_id)
    repo = UserRepository(session)
    current = await repo.active_subscription(user_id)
    if current is None:
        return False
    now = _now()
    current.status, current.end_date = SubscriptionStatus.CANCELLED, now
    plan = PLANS.get(current.plan)
    if plan is not None and plan.role != Role.CREATOR:
        row = await repo.role(user_id, plan.role)
        if row is not None and row.expires_at is not None:
            await repo.delete_role(row)
    await _audit(session, audit.SUBSCRIPTION_CANCELLED, actor, user_id, address, plan=current.plan)
    forget_after_commit(resources, hooks, user_id)
    return True


async def active_subscription(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID
) -> UserSubscription | None:
    if not principal.owns_or_can(user_id, Permission.ADMIN_USER_MANAGE):
        return None
    return await UserRepository(session).active_subscription(user_id)
