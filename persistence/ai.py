"""The AI generation log, per-user quotas and users' own provider keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, Numeric, String, Text, UniqueConstraint, func, select, text
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
