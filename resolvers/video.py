"""Video queries, mutations and the progress subscription."""

from __future__ import annotations

import strawberry

from domain import video as video_domain
from schema.common import VideoStatus, decode_cursor  # noqa: F401
from schema.context import Info
from schema.node import from_global_id
from schema.user import to_domain_status
from schema.video import Video, VideoConnection, video_connection


@strawberry.type
class VideoQuery:
    @strawberry.field
    async def video(self, info: Info, id: strawberry.ID) -> Video | None:
        _, raw = from_global_id(id, "Video")
        return Video.from_model(await video_domain.get_video(info.context.session, info.context.principal, raw))

    @strawberry.field(description="The signed-in user's videos, newest first.")
    async def videos(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: VideoStatus | None = None,  # type: ignore[valid-type]
    ) -> VideoConnection:
        user_id = info.context.principal.require_user()
        return await video_connection(info, user_id, first, after, to_domain_status(status))  # type: ignore[arg-type]
