"""Authentication of requests (placeholder until the accounts issue lands)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from domain.errors import Unauthenticated
from domain.identity import Principal

if TYPE_CHECKING:
    from runtime.resources import Resources


async def authenticate_http(resources: Resources, headers: Mapping[str, str], address: str | None) -> Principal:
    value = headers.get("authorization")
    if value:
        return await authenticate_bearer(resources, value, address)
    return Principal.anonymous(address)


async def authenticate_bearer(resources: Resources, value: str, address: str | None) -> Principal:
    raise Unauthenticated("The access token is not valid.")
