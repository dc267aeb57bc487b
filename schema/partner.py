"""Partner API keys."""

from __future__ import annotations

from datetime import datetime

import strawberry

from persistence.partner import ApiKey as ApiKeyRow
from schema.node import to_global_id


@strawberry.type
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="The key's public part, to tell keys apart.")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=to_global_id("ApiKey", row.id),
            name=row.name,
            prefix=row.prefix,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
        )


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey
    key: str = strawberry.field(description="Send as 'X-Api-Key: <key>'. Shown only this once.")
