"""AI queries."""

from __future__ import annotations

import strawberry

from domain import ai as ai_domain
from persistence.enums import GenerationType as TypeE
from schema.ai import AIGeneration, AIGenerationConnection, AIGenerationEdge
from schema.common import GenerationType, PageInfo, decode_cursor, encode_cursor, page_size, to_domain
from schema.context import Info


@strawberry.type
class AIQuery:
    @strawberry.field
    async def ai_generations(
        self, info: Info, first: int | None = 20, after: str | None = None,
        type: GenerationType | None = None,  # type: ignore[valid-type]
    ) -> AIGenerationConnection:
        rows, more, total = await ai_domain.list_generations(
            info.context.session, info.context.principal, limit=page_size(first), after=decode_cursor(after),
            type_=to_domain(TypeE, type),
        )
        edges = [AIGenerationEdge(cursor=encode_cursor(r.created_at, r.id), node=AIGeneration.from_model(r))
                 for r in rows]
        return AIGenerationConnection(
            edges=edges, total_count=total,
            page_info=PageInfo(has_next_page=more, has_previous_page=after is not None,
                               start_cursor=edges[0].cursor if edges else None,
                               end_cursor=edges[-1].cursor if edges else None),
        )
