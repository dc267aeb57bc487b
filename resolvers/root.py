"""The root types and the schema object. Each feature contributes a mixin per root type."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule

from graphql_runtime.document_cache import DocumentStore, Limits
from graphql_runtime.error_log import Schema
from graphql_runtime.nul_characters import NoNulCharacters
from graphql_runtime.operation import OperationLifecycle
from graphql_runtime.permissions import RequiresPermissionDirective
from graphql_runtime.shared_events import SharedEventExecutor
from graphql_runtime.tracing import GraphQLTracing
from resolvers import accounts as accounts_resolvers
from resolvers import admin as admin_resolvers
from resolvers import ai as ai_resolvers
from resolvers import analytics as analytics_resolvers
from resolvers import partner as partner_resolvers
from resolvers import publishing as publishing_resolvers
from resolvers import user as user_resolvers
from resolvers import video as video_resolvers


@strawberry.type
class Query(
    user_resolvers.UserQuery,
    video_resolvers.VideoQuery,
    ai_resolvers.AIQuery,
    admin_resolvers.AdminQuery,
    partner_resolvers.PartnerQuery,
    publishing_resolvers.PublishingQuery,
    analytics_resolvers.AnalyticsQuery,
):
    pass


@strawberry.type
class Mutation(
    accounts_resolvers.AccountsMutation,
    user_resolvers.UserMutation,
    video_resolvers.VideoMutation,
    ai_resolvers.AIMutation,
    admin_resolvers.AdminMutation,
    partner_resolvers.PartnerMutation,
    publishing_resolvers.PublishingMutation,
):
    pass


@strawberry.type
class Subscription(video_resolvers.VideoSubscription):
    pass


def build_schema(
    max_depth: int = 12,
    max_tokens: int = 2000,
    max_aliases: int = 50,
    *,
    tracing: bool | None = None,
    introspection: bool = True,
) -> strawberry.Schema:
    """`tracing` (default: whether an exporter is configured) adds a span per operation and, when
    recorded, per resolver; off, no extension wraps a field, so plain fields resolve synchronously.
    `introspection=False` refuses __schema/__type (a validation rule, cached with the document)."""
    from runtime.telemetry import tracer_provider

    if tracing is None:
        tracing = tracer_provider() is not None
    store = DocumentStore(Limits(max_depth=max_depth, max_tokens=max_tokens, max_aliases=max_aliases))
    store.rules = (*store.rules, NoNulCharacters)  # "\u0000" in a literal: BAD_USER_INPUT
    if not introspection:
        store.rules = (*store.rules, NoSchemaIntrospectionCustomRule)
    extensions: list[Any] = [
        OperationLifecycle.factory(store),  # graphql_runtime/operation.py: APQ, admission, unit of work…
        *([GraphQLTracing] if tracing else []),
    ]
    built = Schema(  # strawberry.Schema that logs errors once, redacted (graphql_runtime/error_log.py)
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        schema_directives=[RequiresPermissionDirective],
        execution_context_class=SharedEventExecutor,
    )
    built.documents = store  # type: ignore[attr-defined]
    return built


schema = build_schema()
