"""The audit log: who did what to which account or object, and from where."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, select, text
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from persistence.base import Base, UUIDKey


class AuditEvent(UUIDKey, Base):
    __tablename__ = "audit_log"

    at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(INET)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    message: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor", "actor_id", "at"),
        Index("ix_audit_log_target", "target_type", "target_id"),
    )


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: AuditEvent) -> None:
        self.session.add(row)

    async def audit_events(
        self,
        *,
        limit: int = 100,
        actor_id: uuid.UUID | None = None,
        action: str | None = None,
        target_id: str | None = None,
    ) -> list[AuditEvent]:
        stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id).limit(limit)
        if actor_id is not None:
            stmt = stmt.where(AuditEvent.actor_id == actor_id)
        if action is not None:
            stmt = stmt.where(AuditEvent.action == action)
        if target_id is not None:
            stmt = stmt.where(AuditEvent.target_id == target_id)
        return list((await self.session.scalars(stmt)).all())
