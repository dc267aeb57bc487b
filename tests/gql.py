"""Run operations through the schema in-process, as a given principal."""

from __future__ import annotations

from typing import Any

from domain.identity import Principal
from graphql_runtime.context import Context
from resolvers.root import schema


async def execute(
    resources: Any, query: str, variables: dict[str, Any] | None = None, principal: Principal | None = None
) -> Any:
    ctx = Context(
        resources=resources,
        principal=principal or Principal.anonymous("127.0.0.1"),
        client_address="127.0.0.1",
    )
    return await schema.execute(query, variable_values=variables, context_value=ctx)


def codes(result: Any) -> list[str]:
    return [e.extensions.get("code") for e in (result.errors or [])]


COST_KEYS = {"requested", "actual", "limit", "remaining", "resetAt"}


def body(payload: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL response body (or websocket `next` payload) without its `extensions.cost`,
    which every response must carry (README "Partner API")."""
    payload = dict(payload)
    extensions = dict(payload.pop("extensions", None) or {})
    cost = extensions.pop("cost")
    assert set(cost) == COST_KEYS, cost
    if extensions:
        payload["extensions"] = extensions
    return payload


def extensions(result: Any) -> dict[str, Any]:
    """An in-process result's extensions without `cost` (which it must carry)."""
    return body({"extensions": result.extensions}).get("extensions", {})
