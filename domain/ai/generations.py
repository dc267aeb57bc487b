"""Reading the `ai_generations` log: a user's own page of it, or one row."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from persistence.ai import AIGeneration, AIRepository
from persistence.enums import GenerationType

if TYPE_CHECKING:
    pass


async def list_generations(
    session: AsyncSession,
    principal: Any,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    type_: GenerationType | None,
) -> tuple[list[AIGeneration], bool, int]:
    """The signed-in user's generation log, newest first."""
    user_id = principal.require_user()
    repo = AIRepository(session)
    rows = await repo.generations_page(user_id, limit=limit + 1, after=after, type_=type_)
    return rows[:limit], len(rows) > limit, await repo.count_generations(user_id, type_)


async def get_generation(session: AsyncSession, principal: Any, generation_id: uuid.UUID) -> AIGeneration:
    """One log row: the owner's, or any with ADMIN_ANALYTICS_VIEW; otherwise NOT_FOUND."""
    from domain.errors import NotFound
    from domain.permissions import Permission

    row = await AIRepository(session).get_generation(generation_id)
    if row is None or not principal.owns_or_can(row.user_id, Permission.ADMIN_ANALYTICS_VIEW):
        raise NotFound("No such generation.")
    return row
