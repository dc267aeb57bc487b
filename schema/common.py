"""Shared GraphQL shapes: page info, cursors, enums mapped from stored vocabularies."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from enum import Enum

import strawberry

from domain.errors import BadInput
from persistence import enums as E


def _mirror(enum_cls: type[Enum], name: str) -> type[Enum]:
    """A GraphQL enum with the stored enum's member names (values are the stored ones)."""
    return strawberry.enum(Enum(name, {m.name: m.value for m in enum_cls}), name=name)  # type: ignore[call-overload,no-any-return]


Role = _mirror(E.Role, "Role")
VideoStatus = _mirror(E.VideoStatus, "VideoStatus")
AspectRatio = _mirror(E.AspectRatio, "AspectRatio")
PipelineStage = _mirror(E.PipelineStage, "PipelineStage")
StageStatus = _mirror(E.StageStatus, "StageStatus")
GenerationType = _mirror(E.GenerationType, "GenerationType")
QuotaPeriod = _mirror(E.QuotaPeriod, "QuotaPeriod")
PublicationStatus = _mirror(E.PublicationStatus, "PublicationStatus")


def to_gql(gql_enum: type[Enum], value: Enum | None):  # type: ignore[no-untyped-def]
    return None if value is None else gql_enum[value.name]  # type: ignore[index]


def to_domain(domain_enum: type[Enum], value: Enum | None):  # type: ignore[no-untyped-def]
    return None if value is None else domain_enum[value.name]  # type: ignore[index]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


MAX_PAGE = 100


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
        return 20
    if first < 0 or first > MAX_PAGE:
        raise BadInput(f"`first` must be between 0 and {MAX_PAGE}.", field="first")
    return first
