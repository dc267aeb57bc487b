"""The GraphQL endpoint: HTTP (POST, GET, GraphiQL) and websockets (graphql-transport-ws)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError

from domain.identity import Principal
from graphql_runtime.context import Context
from graphql_runtime.request_limits import LimitedGraphQL, LimitedTransportWSHandler, RequestLimits
from graphql_runtime.unavailable import (
    answers_503_while_dependencies_are_down,
    close_socket_if_unavailable,
    mark_unavailable,
    report_unavailable_operation,
)
from runtime.request_id import tag_errors
from runtime.resources import Resources


def client_address(conn: Request | WebSocket) -> str | None:
    return conn.client.host if conn.client else None


class PersistedQueryWSHandler(LimitedTransportWSHandler[Context, None]):
    """graphql-transport-ws with Apollo APQ: strawberry's handler only passes query, variables
    and operationName on, so a `subscribe` carrying extensions.persistedQuery is resolved here
    (and refused with its code) before the operation starts."""

    async def handle_subscribe(self, message: Any) -> None:
        from domain.errors import DomainError
        from domain.persisted_queries import resolve
        from graphql_runtime.persisted_queries import socket_operation

        payload = message.get("payload") or {}
        persisted = (payload.get("extensions") or {}).get("persistedQuery")
        resolved = None
        if persisted is not None and self.connection_acknowledged:
            context = self.context
            try:
                resolved = await resolve(
                    context.resources, context.principal, persisted, payload.get("query")
                )
            except DomainError as exc:
                error: Any = {"message": exc.message, "extensions": {**exc.extensions, "code": exc.code}}
                reply: Any = {"id": message["id"], "type": "error", "payload": [error]}
                await self.send_message(reply)
                return
            message = {**message, "payload": {**payload, "query": resolved.document}}
        with socket_operation(resolved):  # a new document is stored once the operation validated
            await super().handle_subscribe(message)

    async def send_message(self, message: Any) -> None:
        # Errors carry the connection's request id (extensions.requestId), as over HTTP.
        if message.get("type") in ("next", "error"):
            message = with_request_ids(message)
        await super().send_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        # Redis/PostgreSQL down while checking the token: close 1013 (retry), not a crashed task.
        await close_socket_if_unavailable(self.websocket, super().handle_connection_init(message))

    async def handle_task_exception(self, error: Exception) -> None:
        # An operation that failed before executing because Redis/PostgreSQL is down gets an error.
        if not await report_unavailable_operation(self, error):
            await super().handle_task_exception(error)


def with_request_ids(message: Any) -> Any:
    """A websocket `next`/`error` message whose errors carry extensions.requestId."""
    payload = message.get("payload")
    if isinstance(payload, list):
        return {**message, "payload": tag_errors(payload)}
    if isinstance(payload, dict) and payload.get("errors"):
        return {**message, "payload": {**payload, "errors": tag_errors(payload["errors"])}}
    return message


class GraphQLView(LimitedGraphQL):
    """Limits on bodies, uploads, JSON and websocket messages: graphql_runtime/request_limits.py."""

    graphql_transport_ws_handler_class = PersistedQueryWSHandler  # type: ignore[assignment]

    def __init__(self, resources_getter: Any, schema: Any, **kw: Any) -> None:
        super().__init__(schema, **kw)
        self._resources = resources_getter

    def should_render_graphql_ide(self, request: Any) -> bool:
        # An APQ GET (extensions, no query) is an operation, not a visit to GraphiQL.
        if request.query_params.get("extensions"):
            return False
        return bool(super().should_render_graphql_ide(request))

    @property
    def resources(self) -> Resources:
        return self._resources()  # type: ignore[no-any-return]

    def encode_json(self, data: object) -> str:
        # orjson: several times json.dumps's speed on GraphQL answers. Text, not bytes: the
        # websocket protocol needs text frames.
        return orjson.dumps(data, default=str).decode()

    @property
    def request_limits(self) -> RequestLimits:
        return RequestLimits.from_settings(self.resources.settings)

    def signed_in(self, scope: Any) -> bool:
        admission = scope.get("state", {}).get("admission")
        return admission is not None and admission.principal.authenticated

    @answers_503_while_dependencies_are_down  # e.g. authentication while Redis is down
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            from domain.admission import admit_http
            from domain.errors import DomainError

            request = Request(scope, receive)
            headers = request.headers
            try:
                admission = await admit_http(
                    self.resources,
                    bearer=headers.get("authorization"),
                    api_key=headers.get("x-api-key"),
                    address=client_address(request),
                )
            except DomainError as exc:
                error = {"message": exc.message, "extensions": {"code": exc.code}}
                body = {"data": None, "errors": tag_errors([error])}
                await JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})(
                    scope, receive, send
                )
                return
            scope.setdefault("state", {})["admission"] = admission
        await super().__call__(scope, receive, send)

    async def process_result(self, request: Any, result: Any) -> Any:
        data: Any = await super().process_result(request, result)
        if data.get("errors"):
            data["errors"] = tag_errors(data["errors"])
        return data

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        mark_unavailable(response_data, sub_response)  # 503 + Retry-After while a dependency is down
        return super().create_response(response_data, sub_response)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:  # type: ignore[override]
        address = client_address(request)
        admission = getattr(request.state, "admission", None)
        return Context(
            resources=self.resources,
            principal=admission.principal if admission is not None else Principal.anonymous(address),
            admission=admission,
            request=request,
            response=response,
            client_address=address,
            user_agent=request.headers.get("user-agent"),
        )

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        """The token in connection_init's `authorization` authenticates the socket; a bad one
        closes it with 4403."""
        from domain.admission import admit_bearer
        from domain.errors import DomainError
        from domain.session_watch import watch_of

        params = context.connection_params or {}
        value = params.get("authorization") or params.get("Authorization")
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConnectionRejectionError({"message": "authorization must be a string"})
        try:
            admission = await admit_bearer(
                self.resources, value, context.client_address, count_operation=False
            )
        except DomainError as exc:
            raise ConnectionRejectionError({"message": exc.message, "code": exc.code}) from None
        context.principal = admission.principal
        context.bearer = value  # re-checked at every operation
        if admission.claims is not None:  # and, with every live socket's, while subscriptions run
            context.live_session = watch_of(self.resources).track(admission.claims)
        return None
