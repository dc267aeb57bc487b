"""AI types: the generation log, quotas, studio generations, voices, provider health and keys."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from domain.ai.quota import QuotaView
from graphql_runtime.context import Info
from persistence.ai import AIGeneration as Row
from providers.ai.base import Script as DomainScript
from schema.common import AspectRatio, GenerationType, PageInfo, QuotaPeriod
from schema.node import Node, to_global_id

if TYPE_CHECKING:
    from schema.video import Video


@strawberry.type
class AIGeneration(Node):
    row: strawberry.Private[Row]
    type: GenerationType
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
            id=to_global_id("AIGeneration", row.id),
            row=row,
            type=row.type,
            provider=row.provider,
            model=row.model,
            prompt=row.prompt,
            status=row.status.value,
            tokens_used=row.tokens_used,
            cost_usd=float(row.cost_usd) if row.cost_usd is not None else None,
            processing_time_ms=row.processing_time_ms,
            error_message=row.error_message,
            created_at=row.created_at,
            completed_at=row.completed_at,
        )

    @strawberry.field
    async def result_url(self, info: Info) -> str | None:
        if not self.row.result_key:
            return None
        return str(await info.context.resources.storage.url(self.row.result_key))

    @strawberry.field
    async def video(self, info: Info) -> Annotated[Video, strawberry.lazy("schema.video")] | None:
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


# ------------------------------------------------------------------ quotas


@strawberry.type
class Quota:
    type: GenerationType
    period: QuotaPeriod
    limit: int
    used: int
    reset_at: datetime

    @classmethod
    def from_view(cls, q: QuotaView) -> Quota:
        return cls(type=q.type, period=q.period, limit=q.limit, used=q.used, reset_at=q.reset_at)


# ------------------------------------------------------------------ studio generations


@strawberry.input
class GenerateScriptInput:
    topic: str
    "Topic or instructions for the script."
    target_duration_seconds: int | None = 60
    language: str | None = "en"
    script: str | None = strawberry.field(
        default=None, description="Your own text: paced and split, not written."
    )
    offline: bool | None = strawberry.field(default=False, description="Use only the free offline provider.")


@strawberry.type
class ScriptScene:
    narration: str
    visual: str
    keywords: list[str]
    heading: str | None


@strawberry.type
class ScriptSeo:
    title: str
    description: str
    keywords: list[str]


@strawberry.type
class Script:
    title: str
    language: str
    scenes: list[ScriptScene]
    seo: ScriptSeo

    @classmethod
    def from_domain(cls, s: DomainScript) -> Script:
        return cls(
            title=s.title,
            language=s.language,
            scenes=[
                ScriptScene(
                    narration=sc.narration, visual=sc.visual, keywords=list(sc.keywords), heading=sc.heading
                )
                for sc in s.scenes
            ],
            seo=ScriptSeo(title=s.seo.title, description=s.seo.description, keywords=list(s.seo.keywords)),
        )


@strawberry.input
class GenerateImageInput:
    prompt: str
    aspect_ratio: AspectRatio | None = strawberry.field(
        default=None, description="SQUARE when neither this nor width/height is given."
    )
    width: int | None = None
    height: int | None = None
    offline: bool | None = False


@strawberry.type
class GeneratedImage:
    "A signed URL, valid for an hour."

    url: str
    width: int
    height: int


@strawberry.input
class SynthesizeSpeechInput:
    text: str
    voice: str | None = strawberry.field(
        default=None, description="A voice id from `voices`; the offline voice by default."
    )
    offline: bool | None = False


@strawberry.type
class SpeechSentence:
    start: float
    end: float
    text: str


@strawberry.type
class GeneratedSpeech:
    "A signed URL of a WAV file, valid for an hour."

    url: str
    duration: float
    sentences: list[SpeechSentence]


@strawberry.type
class Voice:
    id: str
    name: str
    language: str
    provider: str
    gender: str | None
    preview_url: str | None


# ------------------------------------------------------------------ providers


@strawberry.type
class ProviderHealth:
    kind: str
    provider: str
    model: str | None
    state: str
    "closed | open | half_open (this process's view)"
    consecutive_failures: int
    opened_at: datetime | None
    last_error: str | None
    retry_in_seconds: float | None


@strawberry.type
class ProviderKey:
    "A key of your own for an AI provider; the key itself is never returned."

    provider: str
    base_url: str | None
    created_at: datetime
