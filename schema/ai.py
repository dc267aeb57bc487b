"""AI generation log types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from persistence.ai import AIGeneration as Row
from schema.common import GenerationType, PageInfo, to_gql
from schema.context import Info
from schema.node import Node, to_global_id


@strawberry.type
class AIGeneration(Node):
    row: strawberry.Private[Row]
    type: GenerationType  # type: ignore[valid-type]
    provider: str
    model: str | None
    prompt: str
    status: str
    tokens_used: int | None
    cost_usd: float | None
    processing_time_ms: int | None
    error_message: str | None
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def from_model(cls, row: Row) -> AIGeneration:
        return cls(
            id=to_global_id("AIGeneration", row.id), row=row, type=to_gql(GenerationType, row.type),
            provider=row.provider, model=row.model, prompt=row.prompt, status=row.status.value,
            tokens_used=row.tokens_used, cost_usd=float(row.cost_usd) if row.cost_usd is not None else None,
            processing_time_ms=row.processing_time_ms, error_message=row.error_message,
            created_at=row.created_at, completed_at=row.completed_at,
        )

    @strawberry.field
    async def result_url(self, info: Info) -> str | None:
        if not self.row.result_key:
            return None
        return str(await info.context.resources.extras["storage"].url(self.row.result_key))

    @strawberry.field
    async def video(self, info: Info) -> Annotated[Video, strawberry.lazy("schema.video")] | None:  # noqa: F821
        from schema.video import Video

        if self.row.video_id is None:
            return None
        row = await info.context.loaders.video.load(self.row.video_id)
        return Video.from_model(row) if row is not None else None


@strawberry.type
class AIGenerationEdge:
    cursor: str
    node: AIGeneration


@strawberry.type
class AIGenerationConnection:
    edges: list[AIGenerationEdge]
    page_info: PageInfo
    total_count: int
