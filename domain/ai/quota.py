"""Per-user AI quotas: user x generation type x period (DAILY = UTC day, MONTHLY = calendar month).

Limits come from the user's plan (domain.ai.plans; no active subscription means the free plan) and
follow it live: every reservation writes the plan's current limit into the row. Rows are created
lazily on first use. A reservation is one conditional UPDATE per period, in its own short
transaction (so concurrent workers and requests see it at once, whatever the caller's transaction
does):

    UPDATE ai_quotas SET used_amount = CASE WHEN reset_at <= now THEN n ELSE used_amount + n END,
                         reset_at    = CASE WHEN reset_at <= now THEN <next boundary> ELSE reset_at END
     WHERE user_id = … AND type = … AND period = …
       AND (CASE WHEN reset_at <= now THEN 0 ELSE used_amount END) + n <= limit
    RETURNING …

DAILY is updated before MONTHLY (one lock order, no deadlocks); if either refuses, the transaction
rolls back and nothing is spent. `now` is the service's clock (injectable), not the database's.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.ai.plans import Plan, plan_of
from domain.errors import QuotaExceeded
from domain.identity import Principal
from domain.transactions import separate_transaction
from persistence.ai import AIRepository
from persistence.enums import GenerationType, QuotaPeriod
from persistence.user import UserRepository

log = logging.getLogger(__name__)

PERIODS = (QuotaPeriod.DAILY, QuotaPeriod.MONTHLY)
Clock = Callable[[], datetime]
PlanLookup = Callable[[AsyncSession, uuid.UUID], Awaitable[Plan]]


def utcnow() -> datetime:
    return datetime.now(UTC)


def period_end(period: QuotaPeriod, now: datetime) -> datetime:
    """The next boundary after `now`: the next UTC midnight, or the first of next month (UTC)."""
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is QuotaPeriod.DAILY:
        return midnight + timedelta(days=1)
    first = midnight.replace(day=1)
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


async def plan_for_user(session: AsyncSession, user_id: uuid.UUID) -> Plan:
    sub = await UserRepository(session).active_subscription(user_id)
    return plan_of(sub.plan if sub is not None else None)


@dataclass(frozen=True)
class Reservation:
    user_id: uuid.UUID
    type: GenerationType
    amount: int
    reset_at: dict[QuotaPeriod, datetime]
    """The period each unit was taken from: a give-back after a reset is dropped."""


@dataclass(frozen=True)
class QuotaView:
    type: GenerationType
    period: QuotaPeriod
    limit: int
    used: int
    reset_at: datetime


def _exceeded(kind: GenerationType, period: QuotaPeriod, limit: int, reset_at: datetime) -> QuotaExceeded:
    label = {QuotaPeriod.DAILY: "daily", QuotaPeriod.MONTHLY: "monthly"}[period]
    return QuotaExceeded(
        f"Your {label} {kind.value} generation quota ({limit}) is used up; it resets at "
        f"{reset_at.astimezone(UTC).isoformat()}.",
        type=kind.name,
        period=period.name,
        resetAt=reset_at.astimezone(UTC).isoformat(),
        limit=limit,
    )


class QuotaService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Clock = utcnow,
        plan_for: PlanLookup = plan_for_user,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.plan_for = plan_for

    async def reserve(self, user_id: uuid.UUID, kind: GenerationType, amount: int = 1) -> Reservation:
        """Take `amount` units from both periods' quotas, or raise QuotaExceeded (nothing taken)."""
        now = self.clock()
        reset: dict[QuotaPeriod, datetime] = {}
        async with separate_transaction(self.sessionmaker, why="SURVIVES_ROLLBACK") as session:
            plan = await self.plan_for(session, user_id)
            repo = AIRepository(session)
            for period in PERIODS:
                limit = plan.limit(kind, period)
                boundary = period_end(period, now)
                await repo.ensure_quota(user_id, kind, period, limit, boundary)
                got = await repo.try_consume(user_id, kind, period, amount, limit, now, boundary)
                if got is None:
                    row = await repo.quota(user_id, kind, period)
                    resets = row.reset_at if row is not None and row.reset_at > now else boundary
                    raise _exceeded(kind, period, limit, resets)  # rolls the transaction back
                reset[period] = got[2]
        return Reservation(user_id, kind, amount, reset)

    async def release(self, reservation: Reservation) -> None:
        """Give a reservation back (the call it paid for failed or did not need it). Never raises."""
        try:
            async with separate_transaction(self.sessionmaker, why="SURVIVES_ROLLBACK") as session:
                repo = AIRepository(session)
                for period, reset_at in reservation.reset_at.items():
                    await repo.give_back(
                        reservation.user_id, reservation.type, period, reservation.amount, reset_at
                    )
        except Exception:
            log.exception("could not give back an AI quota reservation")

    async def view(self, session: AsyncSession, user_id: uuid.UUID) -> list[QuotaView]:
        return await quotas_of(session, user_id, now=self.clock(), plan_for=self.plan_for)


async def quotas_of(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    now: datetime | None = None,
    plan_for: PlanLookup = plan_for_user,
) -> list[QuotaView]:
    """Every type x period for the user, as a reservation would see it now (read-only: rows that
    do not exist yet, or whose period has ended, read as unused)."""
    now = now or utcnow()
    plan = await plan_for(session, user_id)
    rows = {(r.type, r.period): r for r in await AIRepository(session).quotas(user_id)}
    out = []
    for kind in GenerationType:
        for period in PERIODS:
            row = rows.get((kind, period))
            live = row is not None and row.reset_at > now
            out.append(
                QuotaView(
                    type=kind,
                    period=period,
                    limit=plan.limit(kind, period),
                    used=row.used_amount if live and row is not None else 0,
                    reset_at=row.reset_at if live and row is not None else period_end(period, now),
                )
            )
    return out


async def my_quotas(session: AsyncSession, principal: Principal) -> list[QuotaView]:
    return await quotas_of(session, principal.require_user())
