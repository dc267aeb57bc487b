"""Social types: platform connections (never their tokens) and publications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graphql_runtime.context import Info
from persistence.publishing import PlatformConnection as ConnectionRow
from persistence.publishing import Publication as PublicationRow
from schema.common import PublicationStatus
from schema.node import Node, to_global_id

if TYPE_CHECKING:
    from schema.video import Video


@strawberry.type(
    description="An account on a social platform. Its tokens are stored encrypted and never returned."
)
class PlatformConnection(Node):
    platform: str
    account_id: str
    account_name: str | None
    token_expires_at: datetime | None
    connected_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: ConnectionRow) -> PlatformConnection:
        return cls(
            id=to_global_id("PlatformConnection", row.id),
            platform=row.platform,
            account_id=row.account_id,
            account_name=row.account_name,
            token_expires_at=row.token_expires_at,
            connected_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type
class Publication(Node):
    row: strawberry.Private[PublicationRow]
    platform: str
    status: PublicationStatus
    scheduled_at: datetime | None
    published_at: datetime | None
    external_id: str | None
    external_url: str | None
    error_message: str | None
    attempts: int
    created_at: datetime

    @classmethod
    def from_model(cls, row: PublicationRow) -> Publication:
        return cls(
            id=to_global_id("Publication", row.id),
            row=row,
            platform=row.platform,
            status=row.status,
            scheduled_at=row.scheduled_at,
            published_at=row.published_at,
            external_id=row.external_id,
            external_url=row.external_url,
            error_message=row.error_message,
            attempts=row.attempts,
            created_at=row.created_at,
        )

    @strawberry.field
    async def video(self, info: Info) -> Annotated[Video, strawberry.lazy("schema.video")]:
        from schema.video import Video

        return Video.from_model(await info.context.loaders.video.load(self.row.video_id))


@strawberry.input
class PublishVideoInput:
    video_id: strawberry.ID
    platform: str
    scheduled_at: datetime | None = strawberry.field(
        default=None, description="Publish later; now when omitted."
    )


async def publications_of(info: Info, video_id: uuid.UUID) -> list[Publication]:
    """Video.publications: the video was already read under the access rules."""
    return [Publication.from_model(r) for r in await info.context.loaders.publications.load(video_id)]
