"""Platform connections, publishing and publications: thin, one domain call each."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain import publishing as publishing_domain
from domain.permissions import Permission as P
from graphql_runtime.context import Info
from graphql_runtime.permissions import requires
from schema.node import from_global_id
from schema.publishing import PlatformConnection, Publication, PublishVideoInput


@strawberry.type
class PublishingQuery:
    @strawberry.field(
        description="The signed-in user's connected platform accounts.", extensions=requires(P.VIDEO_PUBLISH)
    )
    async def platform_connections(self, info: Info) -> list[PlatformConnection]:
        rows = await publishing_domain.list_connections(info.context.session, info.context.principal)
        return [PlatformConnection.from_model(r) for r in rows]

    @strawberry.field(description="Publications of a video, oldest first.", extensions=requires(P.VIDEO_READ))
    async def publications(self, info: Info, video_id: strawberry.ID) -> list[Publication]:
        _, raw = from_global_id(video_id, "Video")
        rows = await publishing_domain.publications_of_video(
            info.context.session, info.context.principal, raw
        )
        return [Publication.from_model(r) for r in rows]


@strawberry.type
class PublishingMutation:
    @strawberry.mutation(
        description="Connect (or reconnect) a platform account; tokens are stored encrypted.",
        extensions=requires(P.VIDEO_PUBLISH),
    )
    async def connect_platform(
        self,
        info: Info,
        platform: str,
        access_token: str,
        account_id: str,
        refresh_token: str | None = None,
        expires_at: datetime | None = None,
        account_name: str | None = None,
    ) -> PlatformConnection:
        data = publishing_domain.NewConnection(
            platform=platform,
            access_token=access_token,
            account_id=account_id,
            refresh_token=refresh_token,
            expires_at=expires_at,
            account_name=account_name,
        )
        row = await publishing_domain.connect_platform(
            info.context.session, info.context.resources.settings, info.context.principal, data
        )
        return PlatformConnection.from_model(row)

    @strawberry.mutation(
        description="Forget a platform account and its tokens.", extensions=requires(P.VIDEO_PUBLISH)
    )
    async def disconnect_platform(self, info: Info, id: strawberry.ID) -> bool:
        _, raw = from_global_id(id, "PlatformConnection")
        await publishing_domain.disconnect_platform(info.context.session, info.context.principal, raw)
        return True

    @strawberry.mutation(extensions=requires(P.VIDEO_PUBLISH))
    async def publish_video(self, info: Info, input: PublishVideoInput) -> Publication:
        _, raw = from_global_id(input.video_id, "Video")
        ctx = info.context
        pub = await publishing_domain.publish_video(
            ctx.session, ctx.resources, ctx, ctx.principal, raw, input.platform, input.scheduled_at
        )
        return Publication.from_model(pub)
