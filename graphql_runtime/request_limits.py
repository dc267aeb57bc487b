"""What one GraphQL request may carry, enforced at the edge before anything is parsed or run.

- Bodies are capped while they stream in (ASGI `receive`), not by trusting Content-Length: a JSON
  body (and a GET query string) at `max_request_bytes`, a multipart body at what its files and two
  JSON fields may need. Over the cap: 413 PAYLOAD_TOO_LARGE, the rest of the body is never read.
- A multipart request from a caller without credentials is refused (401) before any part is read,
  so nothing is spooled to disk for strangers. Each file is capped (`max_upload_bytes`) while it
  is parsed, and so are the number of files and fields.
- Decoded JSON (bodies, GET `variables`/`extensions`, multipart fields, websocket messages) is
  capped in list items + object members (`max_request_items`, 413) and nesting (400), and may not
  carry NUL characters, which PostgreSQL text cannot store (400 BAD_USER_INPUT naming the path).
- Shapes the library would trip over (a body that is not an object, a non-string operationName, a
  `map` that does not fit the operations) answer 400 BAD_REQUEST; every refusal is a GraphQL-style
  JSON body with a stable `extensions.code`.
- Websocket messages are capped at `max_ws_message_bytes` (closed with 1009; uvicorn's
  `ws_max_size` is the same number), and graphql-transport-ws messages of the wrong shape close
  the socket with 4400 instead of crashing its task.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cross_web import FormData, HTTPException, StarletteRequestAdapter
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.file_uploads.utils import replace_placeholders_with_files
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import NonTextMessageReceived
from strawberry.http.typevars import Context, RootValue
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

if TYPE_CHECKING:
    from cross_web import AsyncHTTPRequestAdapter

    from runtime.settings import Settings

MULTIPART = "multipart/form-data"
_MULTIPART_OVERHEAD = 64 * 1024  # part headers and boundaries
_MAX_FORM_FIELDS = 4  # the GraphQL multipart spec has two: `operations` and `map`
_STARTS_LIKE_JSON_OBJECT = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*[{\[]")  # an optional UTF-8 BOM
_NUL_ESCAPE = "\\u0000"


@dataclass(frozen=True)
class RequestLimits:
    body_bytes: int = 1024 * 1024
    upload_bytes: int = 10 * 1024 * 1024
    upload_files: int = 1
    items: int = 10_000
    depth: int = 32
    ws_message_bytes: int = 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestLimits:
        return cls(
            body_bytes=settings.max_request_bytes,
            upload_bytes=settings.max_upload_bytes,
            upload_files=settings.max_upload_files,
            items=settings.max_request_items,
            depth=settings.max_request_depth,
            ws_message_bytes=settings.max_ws_message_bytes,
        )

    @property
    def multipart_bytes(self) -> int:
        """A multipart body: its files, the two JSON fields, and the framing around them."""
        return self.upload_files * self.upload_bytes + 2 * self.body_bytes + _MULTIPART_OVERHEAD


class RequestRefused(Exception):
    """A request refused at the edge; `response()` is its answer."""

    def __init__(self, status: int, code: str, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extensions = status, code, message, extensions

    def error(self) -> dict[str, Any]:
        return {"message": self.message, "extensions": {**self.extensions, "code": self.code}}

    def response(self) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse({"data": None, "errors": [self.error()]}, self.status, headers=headers)


def too_large(what: str, limit: int, unit: str = "bytes") -> RequestRefused:
    return RequestRefused(413, "PAYLOAD_TOO_LARGE", f"{what} is larger than {limit:,} {unit}.", limit=limit)


def bad_request(message: str) -> RequestRefused:
    return RequestRefused(400, "BAD_REQUEST", message)


# ---------------------------------------------------------------- JSON


def decode_json(data: str | bytes, limits: RequestLimits, *, refuse_nul: bool = True) -> object:
    """json.loads with the request caps: nesting (400), items (413) and NUL characters (400)."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise bad_request(f"The JSON is nested too deeply (more than {limits.depth} levels).") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise bad_request("The request is not valid JSON.") from None
    nul = _NUL_ESCAPE if isinstance(data, str) else _NUL_ESCAPE.encode()
    inspect_json(value, limits, refuse_nul=refuse_nul and nul in data)  # type: ignore[operator]
    return value


def inspect_json(value: object, limits: RequestLimits, *, refuse_nul: bool = True) -> None:
    """Walks a decoded document without recursion, stopping at the first excess."""
    items = 0
    stack: list[tuple[object, int, tuple[str | int, ...]]] = [(value, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            if refuse_nul and "\x00" in node:
                raise nul_refused(path)
            continue
        if isinstance(node, dict):
            children: Any = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        if depth + 1 > limits.depth:
            raise bad_request(f"The JSON is nested too deeply (more than {limits.depth} levels).")
        items += len(node)
        if items > limits.items:
            raise too_large("The request's JSON", limits.items, "items (list items and object members)")
        for key, child in children:
            if refuse_nul and isinstance(key, str) and "\x00" in key:
                raise nul_refused((*path, key))
            stack.append((child, depth + 1, (*path, key)))


def nul_refused(path: tuple[str | int, ...]) -> RequestRefused:
    where = ".".join(str(p) for p in path) or "the request"
    return RequestRefused(
        400, "BAD_USER_INPUT", f"Text may not contain NUL characters (\\u0000): {where}.", field=where
    )


# ---------------------------------------------------------------- HTTP


def guard(scope: dict[str, Any], receive: Any, authenticated: bool, limits: RequestLimits) -> Any:
    """Refusals decided from the request line and headers alone, then a `receive` that stops the
    body at its cap. Returns the new `receive` or raises RequestRefused."""
    headers = Headers(scope=scope)
    multipart = headers.get("content-type", "").partition(";")[0].strip().lower() == MULTIPART
    if multipart and not authenticated:
        raise RequestRefused(401, "UNAUTHENTICATED", "Sign in to upload files.")
    if len(scope.get("query_string", b"")) > limits.body_bytes:
        raise too_large("The query string", limits.body_bytes)
    cap = limits.multipart_bytes if multipart else limits.body_bytes
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise bad_request("Content-Length must be a number.")
        if int(declared) > cap:
            raise too_large("The request body", cap)
    scope.setdefault("state", {})["request_limits"] = limits
    seen = 0

    async def capped() -> Any:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > cap:
                raise too_large("The request body", cap)
        return message

    return capped


class LimitedRequestAdapter(StarletteRequestAdapter):
    """Starlette's adapter with the body shape checked and multipart parsed under the caps."""

    def _limits(self) -> RequestLimits:
        limits: RequestLimits = self._request.scope.get("state", {}).get("request_limits") or RequestLimits()
        return limits

    async def get_body(self) -> bytes:
        body = await self._request.body()
        # Anything but an object (or a batch, which the view refuses with its own message) would
        # reach `.get` on a non-dict inside the library.
        if not _STARTS_LIKE_JSON_OBJECT.match(body):
            raise bad_request("The request body must be a JSON object.")
        return body

    async def get_form_data(self) -> FormData:
        limits = self._limits()
        parser = _LimitedMultiPartParser(self._request.headers, self._request.stream(), limits)
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise bad_request(f"The multipart body is malformed: {exc}") from None
        self._request.scope.setdefault("state", {}).setdefault("request_forms", []).append(form)
        return FormData(files=form, form=form)


class _LimitedMultiPartParser(MultiPartParser):
    def __init__(self, headers: Headers, stream: AsyncGenerator[bytes, None], limits: RequestLimits) -> None:
        super().__init__(
            headers,
            stream,
            max_files=limits.upload_files,
            max_fields=_MAX_FORM_FIELDS,
            max_part_size=limits.body_bytes,
        )
        self._limits = limits
        self._part_bytes = 0

    def on_part_begin(self) -> None:
        super().on_part_begin()
        self._part_bytes = 0

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._part_bytes += end - start
        if self._current_part.file is not None:
            if self._part_bytes > self._limits.upload_bytes:
                raise too_large("An uploaded file", self._limits.upload_bytes)
        elif self._part_bytes > self._limits.body_bytes:
            raise too_large("A multipart field", self._limits.body_bytes)
        super().on_part_data(data, start, end)


async def parse_multipart(view: Any, request: AsyncHTTPRequestAdapter) -> dict[str, Any]:
    """The GraphQL multipart request spec, with every shape error a 400."""
    form = await request.get_form_data()
    operations, files_map = form.form.get("operations"), form.form.get("map")
    if not isinstance(operations, str) or not isinstance(files_map, str):
        raise bad_request("A multipart request needs the `operations` and `map` fields.")
    operations = view.parse_json(operations)
    files_map = view.parse_json(files_map)
    if not isinstance(operations, dict):
        raise bad_request("The multipart `operations` field must be a JSON object.")
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and all(isinstance(p, str) for p in paths) for paths in files_map.values()
    ):
        raise bad_request(
            'The multipart `map` must be an object of lists of paths, e.g. {"0": ["variables.file"]}.'
        )
    files = form.files
    if not all(isinstance(files.get(name), UploadFile) for name in files_map):
        raise bad_request("The multipart `map` names a file that was not sent.")
    try:
        return replace_placeholders_with_files(operations, files_map, files)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        raise bad_request("A path in the multipart `map` does not point into `operations`.") from None


# ---------------------------------------------------------------- websockets


class LimitedWebSocketAdapter(ASGIWebSocketAdapter):
    """Messages over the cap close the socket with 1009; JSON over the item/depth caps with 4400."""

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        limits: RequestLimits = getattr(self.view, "request_limits", RequestLimits())
        while self.ws.application_state != WebSocketState.DISCONNECTED:
            try:
                text = await self.ws.receive_text()
            except KeyError:
                raise NonTextMessageReceived from None
            except WebSocketDisconnect:
                return
            if len(text) > limits.ws_message_bytes:
                await self.ws.close(code=1009, reason="Message too big")
                return
            try:
                # NULs are refused per operation by the handler, which can name the operation.
                yield decode_json(text, limits, refuse_nul=False)
            except RequestRefused as exc:
                await self.ws.close(code=1009 if exc.status == 413 else 4400, reason=exc.message[:120])
                return


def message_problem(message: object) -> str | None:
    """Why a graphql-transport-ws message cannot be handled, or None."""
    if not isinstance(message, dict):
        return "A message must be a JSON object."
    if not isinstance(message.get("type"), str):
        return "A message needs a string `type`."
    if "id" in message and not isinstance(message["id"], str):
        return "A message `id` must be a string."
    if message["type"] in ("subscribe", "complete") and "id" not in message:
        return "This message needs an `id`."
    if message["type"] != "subscribe":
        return None
    payload = message.get("payload")
    if not isinstance(payload, dict):
        return "A subscribe payload must be an object."
    for key, kinds in (("query", str), ("operationName", str), ("variables", dict), ("extensions", dict)):
        if payload.get(key) is not None and not isinstance(payload[key], kinds):
            return f"A subscribe payload's `{key}` has the wrong type."
    persisted = (payload.get("extensions") or {}).get("persistedQuery")
    if payload.get("query") is None and persisted is None:
        return "A subscribe payload needs a `query`."
    return None


class LimitedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, RootValue]):
    """graphql-transport-ws that checks each message's shape (4400 when wrong) and refuses NUL
    characters per operation (an `error` message with BAD_USER_INPUT; the socket stays open)."""

    async def handle_message(self, message: Any) -> None:
        problem = message_problem(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message["type"] == "subscribe":
            try:
                inspect_json(message["payload"], getattr(self.view, "request_limits", RequestLimits()))
            except RequestRefused as exc:
                reply: Any = {"id": message["id"], "type": "error", "payload": [exc.error()]}
                await self.send_message(reply)
                return
        await super().handle_message(message)


def _http_refusal(exc: HTTPException) -> RequestRefused:
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
    return RequestRefused(exc.status_code, code, exc.reason)


class LimitedGraphQL(GraphQL):
    """Strawberry's ASGI view with the limits above. Subclasses provide `request_limits` and
    `signed_in` (authentication happens before the body is read)."""

    request_adapter_class = LimitedRequestAdapter
    websocket_adapter_class = LimitedWebSocketAdapter

    def __init__(self, schema: Any, **kw: Any) -> None:
        # graphql-transport-ws only: the legacy `graphql-ws` handler crashes on malformed frames
        # and skips what ours adds (persisted queries, message checks).
        from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

        kw.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        super().__init__(schema, **kw)

    @property
    def request_limits(self) -> RequestLimits:
        return RequestLimits()

    def signed_in(self, scope: Any) -> bool:
        """Whether the HTTP request's caller presented valid credentials (uploads need them)."""
        return False

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data, self.request_limits)

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, Any]:
        return await parse_multipart(self, request)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> Any:
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, GraphQLRequestData) and not isinstance(item.operation_name, str | None):
                raise bad_request("The GraphQL operation's `operationName` must be a string or null.")
        return data

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            try:
                capped = guard(scope, receive, self.signed_in(scope), self.request_limits)
                response = await self.run(Request(scope, capped))
            except RequestRefused as exc:
                response = exc.response()
            except HTTPException as exc:
                response = _http_refusal(exc).response()
            except ClientDisconnect:
                return
        finally:
            for form in scope.get("state", {}).pop("request_forms", []):
                await form.close()  # uploads spooled to disk go now, not when collected
        await response(scope, receive, send)


__all__ = [
    "LimitedGraphQL",
    "LimitedRequestAdapter",
    "LimitedTransportWSHandler",
    "LimitedWebSocketAdapter",
    "RequestLimits",
    "RequestRefused",
    "decode_json",
    "guard",
    "message_problem",
]
