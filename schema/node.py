"""Opaque global IDs ("Type:uuid", base64url) for the Node interface."""

from __future__ import annotations

import base64
import binascii
import uuid

import strawberry

from domain.errors import NotFound


@strawberry.interface
class Node:
    id: strawberry.ID


def to_global_id(type_name: str, raw: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{raw}".encode()).decode().rstrip("="))


def from_global_id(global_id: str, expected: str | None = None) -> tuple[str, uuid.UUID]:
    """Decode; a malformed id or one of another type reads as NOT_FOUND (nothing revealed)."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, raw = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        value = uuid.UUID(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise NotFound("No such object.") from None
    if expected is not None and type_name != expected:
        raise NotFound("No such object.")
    return type_name, value
