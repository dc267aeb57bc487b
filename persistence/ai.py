"""The AI generation log, per-user quotas and users' own provider keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    case,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base, CreatedAt, Timestamps, UUIDKey, str_enum
from persistence.enums import GenerationStatus, GenerationType, QuotaPeriod


class AIGeneration(UUIDKey, CreatedAt, Base):
    __tablename__ = "ai_generations"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    video_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("videos.id", ondelete="SET NULL"))
    type: Mapped[GenerationType] = mapped_column(str_enum(GenerationType, "generation_type", 50))
    provider: Mapped[str] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(100))
    prompt: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    result_key: Mapped[str | None] = mapped_column(String(500))
    result_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    tokens_used: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    processing_time_ms: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[GenerationStatus] = mapped_column(
        str_enum(GenerationStatus, "generation_status"), default=GenerationStatus.PENDING
    )
    error_message: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_ai_generations_user_id", "user_id"),
        Index("ix_ai_generations_type", "type"),
        Index("ix_ai_generations_created_at", "created_at"),
        Index("ix_ai_generations_user_created", "user_id", text("created_at DESC"), "id"),
        Index("ix_ai_generations_video_id", "video_id"),
    )


class AIQuota(UUIDKey, CreatedAt, Base):
    __tablename__ = "ai_quotas"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    type: Mapped[GenerationType] = mapped_column(str_enum(GenerationType, "generation_type", 50))
    period: Mapped[QuotaPeriod] = mapped_column(str_enum(QuotaPeriod, "quota_period"))
    limit_amount: Mapped[int] = mapped_column(Integer)
    used_amount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reset_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("user_id", "type", "period"),)


class ProviderCredential(UUIDKey, Timestamps, Base):
    """A user's own key for an AI provider (bring your own key), encrypted; never returned."""

    __tablename__ = "provider_credentials"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(50))
    encrypted_key: Mapped[bytes] = mapped_column(LargeBinary)
    base_url: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (UniqueConstraint("user_id", "provider"),)


class AIRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_generation(self, generation_id: uuid.UUID) -> AIGeneration | None:
        return await self.session.get(AIGeneration, generation_id)

    def add_generation(self, row: AIGeneration) -> AIGeneration:
        self.session.add(row)
        return row

    async def generations_page(
        self,
        user_id: uuid.UUID | None,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        type_: GenerationType | None,
    ) -> list[AIGeneration]:
        stmt = select(AIGeneration)
        if user_id is not None:
            stmt = stmt.where(AIGeneration.user_id == user_id)
        if type_ is not None:
            stmt = stmt.where(AIGeneration.type == type_)
        if after is not None:
            created, gid = after
            stmt = stmt.where(
                (AIGeneration.created_at < created)
                | ((AIGeneration.created_at == created) & (AIGeneration.id < gid))
            )
        stmt = stmt.order_by(AIGeneration.created_at.desc(), AIGeneration.id.desc()).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def count_generations(self, user_id: uuid.UUID | None, type_: GenerationType | None) -> int:
        stmt = select(func.count()).select_from(AIGeneration)
        if user_id is not None:
            stmt = stmt.where(AIGeneration.user_id == user_id)
        if type_ is not None:
            stmt = stmt.where(AIGeneration.type == type_)
        return int(await self.session.scalar(stmt) or 0)

    async def generations_for_video(self, video_id: uuid.UUID) -> list[AIGeneration]:
        stmt = select(AIGeneration).where(AIGeneration.video_id == video_id).order_by(AIGeneration.created_at)
        return list((await self.session.scalars(stmt)).all())

    async def quotas(self, user_id: uuid.UUID) -> list[AIQuota]:
        stmt = select(AIQuota).where(AIQuota.user_id == user_id).order_by(AIQuota.type, AIQuota.period)
        return list((await self.session.scalars(stmt)).all())

    def add_quota(self, row: AIQuota) -> None:
        self.session.add(row)

    # ------------------------------------------------------------ quotas (see domain/ai/quota.py)

    async def quota(self, user_id: uuid.UUID, type_: GenerationType, period: QuotaPeriod) -> AIQuota | None:
        stmt = select(AIQuota).where(
            AIQuota.user_id == user_id, AIQuota.type == type_, AIQuota.period == period
        )
        return (await self.session.scalars(stmt)).first()

    async def ensure_quota(
        self, user_id: uuid.UUID, type_: GenerationType, period: QuotaPeriod, limit: int, reset_at: datetime
    ) -> None:
        """Create the quota row if it does not exist yet (lazily, on first use)."""
        stmt = (
            pg_insert(AIQuota)
            .values(
                id=uuid.uuid4(),
                user_id=user_id,
                type=type_,
                period=period,
                limit_amount=limit,
                used_amount=0,
                reset_at=reset_at,
            )
            .on_conflict_do_nothing(index_elements=["user_id", "type", "period"])
        )
        await self.session.execute(stmt)

    async def try_consume(
        self,
        user_id: uuid.UUID,
        type_: GenerationType,
        period: QuotaPeriod,
        amount: int,
        limit: int,
        now: datetime,
        next_reset: datetime,
    ) -> tuple[int, int, datetime] | None:
        """One conditional UPDATE: add `amount` if it fits under `limit`, starting a new period first
        when `reset_at` has passed. Row-locking makes it safe under any concurrency (PostgreSQL re-checks
        the WHERE clause against the latest row version). None when refused."""
        expired = AIQuota.reset_at <= now
        stmt = (
            update(AIQuota)
            .where(
                AIQuota.user_id == user_id,
                AIQuota.type == type_,
                AIQuota.period == period,
                case((expired, 0), else_=AIQuota.used_amount) + amount <= limit,
            )
            .values(
                used_amount=case((expired, amount), else_=AIQuota.used_amount + amount),
                reset_at=case((expired, next_reset), else_=AIQuota.reset_at),
                limit_amount=limit,
            )
            .returning(AIQuota.used_amount, AIQuota.limit_amount, AIQuota.reset_at)
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (int(row[0]), int(row[1]), row[2])

    async def give_back(
        self, user_id: uuid.UUID, type_: GenerationType, period: QuotaPeriod, amount: int, reset_at: datetime
    ) -> None:
        """Return a reservation, unless its period has ended since (a new period starts from zero)."""
        stmt = (
            update(AIQuota)
            .where(
                AIQuota.user_id == user_id,
                AIQuota.type == type_,
                AIQuota.period == period,
                AIQuota.reset_at == reset_at,
            )
            .values(used_amount=func.greatest(AIQuota.used_amount - amount, 0))
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(stmt)

    # ------------------------------------------------------------ own provider keys

    async def credentials(self, user_id: uuid.UUID) -> list[ProviderCredential]:
        stmt = (
            select(ProviderCredential)
            .where(ProviderCredential.user_id == user_id)
            .order_by(ProviderCredential.provider)
        )
        return list((await self.session.scalars(stmt)).all())

    async def credential(self, user_id: uuid.UUID, provider: str) -> ProviderCredential | None:
        stmt = select(ProviderCredential).where(
            ProviderCredential.user_id == user_id, ProviderCredential.provider == provider
        )
        return (await self.session.scalars(stmt)).first()

    async def delete_credential(self, user_id: uuid.UUID, provider: str) -> bool:
        stmt = delete(ProviderCredential).where(
            ProviderCredential.user_id == user_id, ProviderCredential.provider == provider
        )
        result = await self.session.execute(stmt.execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))
