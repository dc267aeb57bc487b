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
