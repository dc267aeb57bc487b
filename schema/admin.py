"""Administration shapes: audit events and subscriptions."""

from __future__ import annotations

import json
from datetime import datetime

import strawberry

from domain.ai.plans import PLANS
from persistence.audit import AuditEvent as AuditRow
from persistence.user import UserSubscription as SubscriptionRow
from schema.common import Role
from schema.node import to_global_id


@strawberry.type
class AuditEvent:
    id: strawberry.ID
    at: datetime
    action: str
    actor_id: strawberry.ID | None = strawberry.field(description="global id of the acting User")
    target_type: str | None
    target_id: str | None
    client_address: str | None
    detail: str = strawberry.field(description="JSON object with action-specific facts")

    @classmethod
    def from_model(cls, row: AuditRow) -> AuditEvent:
        return cls(
            id=strawberry.ID(str(row.id)),
            at=row.at,
            action=row.action,
            actor_id=to_global_id("User", row.actor_id) if row.actor_id else None,
            target_type=row.target_type,
            target_id=row.target_id,
            client_address=str(row.client_address) if row.client_address is not None else None,
            detail=json.dumps(row.detail or {}, sort_keys=True),
        )


@strawberry.type
class UserSubscription:
    plan: str
    status: str
    role: Role
    start_date: datetime
    end_date: datetime | None
    auto_renew: bool

    @classmethod
    def from_model(cls, row: SubscriptionRow) -> UserSubscription:
        role = PLANS[row.plan].role
        return cls(
            plan=row.plan,
            status=row.status.value,
            role=role,
            start_date=row.start_date,
            end_date=row.end_date,
            auto_renew=row.auto_renew,
        )
