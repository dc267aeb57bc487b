"""Subscription events many subscribers receive are executed once per distinct selection.

The event bus hands every subscriber of a channel the same event object, and the subscription
resolvers turn equal events into the same payload object (see `shared_payload`). This
executor (strawberry's `execution_context_class`) then keeps each per-event result on that
payload, keyed by the operation and its variables: the thousandth subscriber with the same
selection gets the first one's result instead of running graphql-core again. Only payloads
that opt in are shared: their fields must not depend on who asks."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from graphql import ExecutionResult
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

SHARED_RESULTS = "_shared_results"
"""Attribute of a shareable payload: its results by selection."""

T = TypeVar("T")


def shared_payload(convert: Callable[[Any], T]) -> Callable[[Any], T]:
    """Memoise a subscription's event → payload conversion (events are hashable, immutable
    values), marking the payload shareable."""

    @functools.lru_cache(maxsize=256)
    def cached(event: Any) -> T:
        payload = convert(event)
        object.__setattr__(payload, SHARED_RESULTS, {})
        return payload

    return cached


def _variables_key(executor: StrawberryGraphQLCoreExecutionContext) -> str:
    try:
        return json.dumps(executor.variable_values.coerced, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(sorted(executor.variable_values.coerced.items()))


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        results: dict[Any, Any] | None = getattr(self.root_value, SHARED_RESULTS, None)
        if results is None or self.operation.operation.value != "subscription":
            return super().execute_operation(serially)
        # The operation node itself is kept with the result, so its id cannot be reused while
        # the entry lives, and a hit is checked by identity.
        key = (id(self.operation), _variables_key(self))
        found = results.get(key)
        if found is not None and found[0] is self.operation:
            return found[1]
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return self._remember(results, key, self.operation, result)
        if not result.errors:  # type: ignore[union-attr]
            results[key] = (self.operation, result)
        return result

    @staticmethod
    async def _remember(results: dict[Any, Any], key: Any, operation: Any, pending: Any) -> ExecutionResult:
        result: ExecutionResult = await pending
        if not result.errors:
            results[key] = (operation, result)
        return result
