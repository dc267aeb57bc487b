"""`node(id)`: dispatch a global id to its feature's reader (which applies the access rules)."""

from __future__ import annotations

import uuid

from domain import user as user_domain
from domain import video as video_domain
from domain.errors import NotFound
from graphql_runtime.context import Info
from schema.node import Node


async def resolve_node(info: Info, type_name: str, raw: uuid.UUID) -> Node:
    ctx = info.context
    if type_name == "Video":
        from schema.video import Video

        return Video.from_model(await video_domain.get_video(ctx.session, ctx.principal, raw))
    if type_name == "User":
        from schema.user import User

        return User.from_model(await user_domain.get_user(ctx.session, ctx.principal, raw))
    if type_name == "Publication":
        from domain import publishing as publishing_domain
        from schema.publishing import Publication

        return Publication.from_model(
            await publishing_domain.get_publication(ctx.session, ctx.principal, raw)
        )
    if type_name == "PlatformConnection":
        from domain import publishing as publishing_domain
        from schema.publishing import PlatformConnection

        return PlatformConnection.from_model(
            await publishing_domain.get_connection(ctx.session, ctx.principal, raw)
        )
    if type_name == "AIGeneration":
        from domain.ai import generations
        from schema.ai import AIGeneration

        return AIGeneration.from_model(await generations.get_generation(ctx.session, ctx.principal, raw))
    raise NotFound("No such object.")
