"""Shared GraphQL shapes: page info, cursors, and the stored vocabularies as GraphQL enums."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

import strawberry

from domain.errors import BadInput
from graphql_runtime.query_cost import DEFAULT_PAGE, MAX_PAGE
from persistence import enums as E
from persistence.enums import AspectRatio as AspectRatio
from persistence.enums import GenerationType as GenerationType
from persistence.enums import PipelineStage as PipelineStage
from persistence.enums import PublicationStatus as PublicationStatus
from persistence.enums import QuotaPeriod as QuotaPeriod
from persistence.enums import Role as Role
from persistence.enums import StageStatus as StageStatus
from persistence.enums import VideoStatus as VideoStatus

# The stored enums are the GraphQL enums: same member names, registered once here.
for _stored in (
    E.Role,
    E.VideoStatus,
    E.AspectRatio,
    E.PipelineStage,
    E.StageStatus,
    E.GenerationType,
    E.QuotaPeriod,
    E.PublicationStatus,
):
    strawberry.enum(_stored)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
        ts, _, rid = raw.partition("|")
        return datetime.fromisoformat(ts), uuid.UUID(rid)
    except ValueError:
        raise BadInput("The cursor is not valid; use a cursor from a previous page.", field="after") from None


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0 or first > MAX_PAGE:
        raise BadInput(f"`first` must be between 0 and {MAX_PAGE}.", field="first")
    return first
