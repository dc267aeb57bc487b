"""Video queries, mutations and the progress subscription: thin, one domain call each."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from domain import video as video_domain
from domain.ai import voices
from domain.permissions import Permission as P
from graphql_runtime.context import Info
from graphql_runtime.permissions import requires
from graphql_runtime.shared_events import shared_payload
from persistence.enums import AspectRatio as AspectE
from schema.common import AspectRatio, PipelineStage, VideoStatus
from schema.node import from_global_id
from schema.video import CreateVideoInput, Video, VideoConnection, VideoProgressEvent, video_connection


@strawberry.type
class VideoQuery:
    @strawberry.field(extensions=requires(P.VIDEO_READ))
    async def video(self, info: Info, id: strawberry.ID) -> Video | None:
        _, raw = from_global_id(id, "Video")
        return Video.from_model(
            await video_domain.get_video(info.context.session, info.context.principal, raw)
        )

    @strawberry.field(
        description="The signed-in user's videos, newest first.", extensions=requires(P.VIDEO_READ)
    )
    async def videos(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: VideoStatus | None = None,
    ) -> VideoConnection:
        user_id = info.context.principal.require_user()
        return await video_connection(info, user_id, first, after, status)


@strawberry.input
class RegenerateVideoInput:
    id: strawberry.ID
    from_stage: PipelineStage | None = None
    voice: str | None = None
    aspect_ratio: AspectRatio | None = None
    script: str | None = None


@strawberry.type
class VideoMutation:
    @strawberry.mutation(extensions=requires(P.VIDEO_CREATE))
    async def create_video(self, info: Info, input: CreateVideoInput) -> Video:
        data = video_domain.NewVideo(
            title=input.title,
            prompt=input.prompt,
            script=input.script,
            description=input.description,
            aspect_ratio=input.aspect_ratio or AspectE.PORTRAIT,
            target_duration_seconds=input.target_duration_seconds
            if input.target_duration_seconds is not None
            else 60,
            voice=input.voice,
            language=input.language or "en",
            platforms=list(input.platforms or []),
            tags=list(input.tags or []),
            captions=input.captions is not False,
            intro_text=input.intro_text,
            outro_text=input.outro_text,
        )
        ctx = info.context
        known = await voices.voice_ids(ctx.resources, ctx.principal) if (data.voice or "").strip() else None
        video = await video_domain.create_video(
            ctx.session, ctx.resources, ctx, ctx.principal, data, known_voices=known
        )
        return Video.from_model(video)

    @strawberry.mutation(extensions=requires(P.VIDEO_UPDATE))
    async def cancel_video(self, info: Info, id: strawberry.ID) -> Video:
        _, raw = from_global_id(id, "Video")
        ctx = info.context
        return Video.from_model(
            await video_domain.cancel_video(ctx.session, ctx.resources, ctx, ctx.principal, raw)
        )

    @strawberry.mutation(extensions=requires(P.VIDEO_UPDATE))
    async def retry_video(self, info: Info, id: strawberry.ID) -> Video:
        _, raw = from_global_id(id, "Video")
        ctx = info.context
        return Video.from_model(
            await video_domain.retry_video(ctx.session, ctx.resources, ctx, ctx.principal, raw)
        )

    @strawberry.mutation(
        extensions=requires(P.VIDEO_UPDATE),
        description="Re-render from a stage with changed settings; adds a new version.",
    )
    async def regenerate_video(self, info: Info, input: RegenerateVideoInput) -> Video:
        _, raw = from_global_id(input.id, "Video")
        ctx = info.context
        changes = video_domain.VideoChanges(
            from_stage=input.from_stage,
            voice=input.voice,
            aspect_ratio=input.aspect_ratio,
            script=input.script,
        )
        asks_voice = (input.voice or "").strip().lower() not in ("", "default")
        known = await voices.voice_ids(ctx.resources, ctx.principal) if asks_voice else None
        video = await video_domain.regenerate_video(
            ctx.session, ctx.resources, ctx, ctx.principal, raw, changes, known_voices=known
        )
        return Video.from_model(video)

    @strawberry.mutation(extensions=requires(P.VIDEO_DELETE))
    async def delete_video(self, info: Info, id: strawberry.ID) -> bool:
        _, raw = from_global_id(id, "Video")
        ctx = info.context
        await video_domain.delete_video(ctx.session, ctx.resources, ctx, ctx.principal, raw)
        return True


@strawberry.type
class VideoSubscription:
    @strawberry.subscription(
        description="The first event is the video's current state; completes after a terminal status.",
        extensions=requires(P.VIDEO_READ),
    )
    async def video_progress(
        self, info: Info, video_id: strawberry.ID
    ) -> AsyncGenerator[VideoProgressEvent, None]:
        from domain.progress_stream import progress_stream

        _, raw = from_global_id(video_id, "Video")
        ctx = info.context
        async for event in progress_stream(
            ctx.resources, ctx.principal, raw, ctx.still_signed_in, ctx.drop_when_too_slow()
        ):
            yield _event(event)

    @strawberry.subscription(
        description="Progress of all your videos, live (no initial state; endless).",
        extensions=requires(P.VIDEO_READ),
    )
    async def my_video_events(self, info: Info) -> AsyncGenerator[VideoProgressEvent, None]:
        from domain.progress_stream import user_stream

        ctx = info.context
        async for event in user_stream(
            ctx.resources, ctx.principal, ctx.still_signed_in, ctx.drop_when_too_slow()
        ):
            yield _event(event)


@shared_payload
def _event(event: Any) -> VideoProgressEvent:
    from schema.node import to_global_id

    return VideoProgressEvent(
        video_id=to_global_id("Video", event.video_id),
        status=event.status,
        stage=event.stage,
        progress=event.progress,
        message=event.message,
        at=event.at,
        run=event.run,
    )
