"""Query cost in the operation's lifecycle: computed once the document is validated (its plan
cached with the parsed document, variables applied per request), refused over the maximum
(QUERY_TOO_COMPLEX) before anything runs, charged to the caller's bucket by admission, and
reported as `extensions.cost` on every result (graphql_runtime/query_cost.py has the rule)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.types import ExecutionContext

from domain.errors import DomainError
from domain.rate_budget import Budget
from graphql_runtime import query_cost
from graphql_runtime.query_cost import DEFAULT_PAGE, MAX_PAGE

_UNSET = object()


def requested(ec: ExecutionContext, entry: Any) -> int:
    """The operation's static cost with this request's variables (BAD_USER_INPUT for a page
    over MAX_PAGE). The plan is made once per document and operation name when the document
    is cached (`entry`, from graphql_runtime/document_cache.py)."""
    document = ec.graphql_document
    if document is None:
        return 1
    plans: dict[str | None, Any] | None = None
    plan: Any = _UNSET
    if entry is not None and entry.document is document:
        plans = entry.plans
        plan = plans.get(ec.operation_name, _UNSET)
    if plan is _UNSET:
        plan = query_cost.plan(
            ec.schema._schema, document, ec.operation_name, default_page=DEFAULT_PAGE, max_page=MAX_PAGE
        )
        if plans is not None:
            plans[ec.operation_name] = plan
    if plan is None:
        return 1
    return query_cost.evaluate(plan, ec.variables)


def too_complex(cost: int, maximum: int) -> GraphQLError | None:
    if maximum <= 0 or cost <= maximum:
        return None
    return GraphQLError(
        f"The query costs {cost}; at most {maximum} is allowed. Ask for smaller pages or fewer nested lists.",
        extensions={"code": "QUERY_TOO_COMPLEX", "cost": cost, "maxCost": maximum},
    )


def as_error(exc: DomainError) -> GraphQLError:
    return GraphQLError(exc.message, extensions={**exc.extensions, "code": exc.code})


def extension(requested_cost: int | None, budget: Budget | None, ec: ExecutionContext) -> dict[str, Any]:
    """`extensions.cost` of a result: requested (static, charged), actual (objects returned),
    and the caller's bucket after the charge (null when the budget is off or Redis was away)."""
    result = getattr(ec, "result", None)
    data = getattr(result, "data", None) if result is not None else None
    return {
        "requested": requested_cost,
        "actual": query_cost.returned(data) if data else 0,
        "limit": budget.limit if budget else None,
        "remaining": budget.remaining if budget else None,
        "resetAt": budget.reset_at if budget else None,
    }
