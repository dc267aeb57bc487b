"""Strawberry's OpenTelemetryExtension, made safe to export and cheap when tracing is off.

Strawberry records the whole document and every resolver argument on its spans; documents and
arguments carry passwords, tokens and scripts (`login(input: {password: "…"})`), so string
literals are masked and only scalar, non-secret arguments are kept. The operation span is ended
even when a later extension raises (strawberry's own hook would leave it open)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Generator
from inspect import isawaitable
from typing import Any

from graphql import GraphQLResolveInfo
from opentelemetry.trace import Status, StatusCode
from strawberry.extensions import LifecycleStep
from strawberry.extensions.tracing import OpenTelemetryExtension

from runtime.telemetry import tracer_provider

_STRING = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"')
_SECRET = re.compile(r"password|token|secret|key|script|prompt", re.IGNORECASE)


def mask_literals(document: str) -> str:
    return _STRING.sub('"?"', document)


def safe_args(args: dict[str, Any], info: GraphQLResolveInfo[Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in args.items()
        if isinstance(value, (str, int, float, bool)) and not _SECRET.search(name)
    }


class GraphQLTracing(OpenTelemetryExtension):
    def __init__(self, *, execution_context: Any = None) -> None:
        super().__init__(
            execution_context=execution_context, arg_filter=safe_args, tracer_provider=tracer_provider()
        )

    def on_operation(self) -> Generator[None, None, None]:
        inner = super().on_operation()
        next(inner)  # starts the operation span
        span = self._span_holder[LifecycleStep.OPERATION]
        if self.execution_context.query:
            span.set_attribute("query", mask_literals(self.execution_context.query))
        try:
            yield
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            with contextlib.suppress(Exception):  # no parsed document: no type
                span.set_attribute("graphql.operation.type", self.execution_context.operation_type.value)
            next(inner, None)  # ends it

    async def resolve(
        self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo[Any], *args: str, **kwargs: Any
    ) -> Any:
        # A span per resolver only when the operation is actually being recorded.
        if self._span_holder[LifecycleStep.OPERATION].is_recording():
            return await super().resolve(_next, root, info, *args, **kwargs)
        result = _next(root, info, *args, **kwargs)
        return await result if isawaitable(result) else result
