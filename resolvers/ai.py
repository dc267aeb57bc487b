"""AI queries and mutations: the generation log, quotas, studio generations, voices, provider
health (admins) and users' own provider keys."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from domain.ai import chains, cloning, generations, own_keys, quota, studio, voices
from domain.permissions import Permission as P
from graphql_runtime.context import Info
from graphql_runtime.permissions import requires
from persistence.enums import AspectRatio as AspectE
from schema.ai import (
    AIGeneration,
    AIGenerationConnection,
    AIGenerationEdge,
    GeneratedImage,
    GeneratedSpeech,
    GenerateImageInput,
    GenerateScriptInput,
    ProviderHealth,
    ProviderKey,
    Quota,
    Script,
    SpeechSentence,
    SynthesizeSpeechInput,
    Voice,
)
from schema.common import GenerationType, PageInfo, decode_cursor, encode_cursor, page_size


def _key(row: object) -> ProviderKey:
    return ProviderKey(provider=row.provider, base_url=row.base_url, created_at=row.created_at)  # type: ignore[attr-defined]


@strawberry.type
class AIQuery:
    @strawberry.field(extensions=requires(P.AI_GENERATE_TEXT))
    async def ai_generations(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        type: GenerationType | None = None,
    ) -> AIGenerationConnection:
        rows, more, total = await generations.list_generations(
            info.context.session,
            info.context.principal,
            limit=page_size(first),
            after=decode_cursor(after),
            type_=type,
        )
        edges = [
            AIGenerationEdge(cursor=encode_cursor(r.created_at, r.id), node=AIGeneration.from_model(r))
            for r in rows
        ]
        return AIGenerationConnection(
            edges=edges,
            total_count=total,
            page_info=PageInfo(
                has_next_page=more,
                has_previous_page=after is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )

    @strawberry.field(extensions=requires(P.AI_GENERATE_TEXT))
    async def my_quotas(self, info: Info) -> list[Quota]:
        views = await quota.my_quotas(info.context.session, info.context.principal)
        return [Quota.from_view(v) for v in views]

    @strawberry.field(
        extensions=requires(P.VIDEO_CREATE),
        description="Voices the signed-in user's narrations can use; the offline one always.",
    )
    async def voices(self, info: Info) -> list[Voice]:
        found = await voices.voices_for(info.context.resources, info.context.principal)
        return [
            Voice(
                id=v.id,
                name=v.name,
                language=v.language,
                provider=v.provider,
                gender=v.gender,
                preview_url=v.preview_url,
            )
            for v in found
        ]

    @strawberry.field(extensions=requires(P.ADMIN_SYSTEM_CONFIG))
    def ai_provider_health(self, info: Info) -> list[ProviderHealth]:
        return [
            ProviderHealth(
                kind=h.kind,
                provider=h.provider,
                model=h.model,
                state=h.state,
                consecutive_failures=h.consecutive_failures,
                opened_at=h.opened_at,
                last_error=h.last_error,
                retry_in_seconds=h.retry_in_seconds,
            )
            for h in chains.provider_health(info.context.resources)
        ]

    @strawberry.field(extensions=requires(P.AI_GENERATE_TEXT))
    async def provider_keys(self, info: Info) -> list[ProviderKey]:
        return [_key(r) for r in await own_keys.provider_keys(info.context.session, info.context.principal)]


@strawberry.type
class AIMutation:
    @strawberry.mutation(extensions=requires(P.AI_GENERATE_TEXT))
    async def generate_script(self, info: Info, input: GenerateScriptInput) -> Script:
        result = await studio.studio_script(
            info.context.resources,
            info.context.principal,
            topic=input.topic,
            target_seconds=input.target_duration_seconds,
            language=input.language,
            own_script=input.script,
            offline=bool(input.offline),
        )
        return Script.from_domain(result.script)

    @strawberry.mutation(extensions=requires(P.AI_GENERATE_IMAGE))
    async def generate_image(self, info: Info, input: GenerateImageInput) -> GeneratedImage:
        from domain.errors import BadInput
        from domain.production import FRAME

        if (input.width is None) != (input.height is None):
            raise BadInput("Give both width and height, or neither.", field="width")
        if input.width is not None and input.height is not None:
            width, height = input.width, input.height
        else:
            width, height = FRAME[input.aspect_ratio or AspectE.SQUARE]
        image = await studio.studio_image(
            info.context.resources,
            info.context.principal,
            prompt=input.prompt,
            width=width,
            height=height,
            offline=bool(input.offline),
        )
        return GeneratedImage(url=image.url, width=image.width, height=image.height)

    @strawberry.mutation(extensions=requires(P.AI_GENERATE_AUDIO))
    async def synthesize_speech(self, info: Info, input: SynthesizeSpeechInput) -> GeneratedSpeech:
        speech = await studio.studio_speech(
            info.context.resources,
            info.context.principal,
            text=input.text,
            voice=input.voice,
            offline=bool(input.offline),
        )
        return GeneratedSpeech(
            url=speech.url,
            duration=speech.duration,
            sentences=[SpeechSentence(start=s.start, end=s.end, text=s.text) for s in speech.sentences],
        )

    @strawberry.mutation(
        extensions=requires(P.AI_GENERATE_TEXT),
        description="Store your own key for an AI provider (encrypted; never returned).",
    )
    async def set_provider_key(
        self, info: Info, provider: str, api_key: str, base_url: str | None = None
    ) -> ProviderKey:
        row = await own_keys.set_provider_key(
            info.context.session, info.context.resources, info.context.principal, provider, api_key, base_url
        )
        return _key(row)

    @strawberry.mutation(extensions=requires(P.AI_GENERATE_TEXT))
    async def delete_provider_key(self, info: Info, provider: str) -> bool:
        return await own_keys.delete_provider_key(info.context.session, info.context.principal, provider)

    @strawberry.mutation(
        extensions=requires(P.AI_GENERATE_AUDIO),
        description="A new ElevenLabs voice cloned from an audio sample (multipart upload, ≤ 10 MB).",
    )
    async def clone_voice(self, info: Info, name: str, sample: Upload) -> Voice:
        data = await sample.read()  # type: ignore[attr-defined]
        voice = await cloning.clone_voice(
            info.context.resources, info.context.principal, name, data,
            filename=getattr(sample, "filename", None) or "sample",
        )  # fmt: skip
        return Voice(id=voice.id, name=voice.name, language=voice.language, provider=voice.provider,
                     gender=voice.gender, preview_url=voice.preview_url)  # fmt: skip
