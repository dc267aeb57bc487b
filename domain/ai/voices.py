"""Which voices a user's narrations can use."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from domain.ai.service import AIService, Caller, close_providers
from providers.ai.base import (
    Voice,
)

if TYPE_CHECKING:
    from domain.identity import Principal
    from runtime.resources import Resources

log = logging.getLogger(__name__)


async def voices_for(resources: Resources, principal: Principal) -> list[Voice]:
    """Voices of every speech provider this user's narrations can use (the offline voice always)."""
    user_id = principal.require_user()
    service = AIService.for_resources(resources)
    plan = service.plan_chain("speech", await service.access(user_id), Caller(user_id))
    out: list[Voice] = []
    try:
        for provider in plan.chain.providers:
            try:
                out += await asyncio.wait_for(provider.list_voices(), 10)
            except Exception:
                log.warning("could not list the voices of %s", provider.name, exc_info=True)
    finally:
        await close_providers(plan.own)
    return out


VOICES_CACHE_SECONDS = 600


async def voice_ids(resources: Resources, principal: Principal) -> set[str] | None:
    """The voice ids this user's narrations can use, cached briefly in Redis; None when some
    provider could not be asked (then a voice cannot be refused for being unknown)."""
    import json

    user_id = principal.require_user()
    key = resources.key("voices", str(user_id))
    cached = await resources.redis.get(key)
    if cached is not None:
        data = json.loads(cached)
        return None if data is None else set(data)
    service = AIService.for_resources(resources)
    plan = service.plan_chain("speech", await service.access(user_id), Caller(user_id))
    ids: set[str] | None = set()
    try:
        for provider in plan.chain.providers:
            try:
                ids |= {v.id for v in await asyncio.wait_for(provider.list_voices(), 10)}  # type: ignore[operator]
            except Exception:
                log.warning("could not list the voices of %s", provider.name, exc_info=True)
                ids = None
                break
    finally:
        await close_providers(plan.own)
    await resources.redis.set(
        key, json.dumps(sorted(ids) if ids is not None else None), ex=VOICES_CACHE_SECONDS
    )
    return ids
