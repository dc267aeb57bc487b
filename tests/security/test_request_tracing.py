"""A partner quotes a request id; it finds the log lines (JSON, with the user, the operation and
the trace) and the trace: header → error extension → log line (README "Partner API")."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import jwt
import pytest
import websockets
from websockets.typing import Subprotocol

from tests.security.helpers import module_server, sign_up


@pytest.fixture(scope="module")
def server(tmp_path_factory, services, migrated_url):
    with module_server(
        tmp_path_factory.mktemp("tracing"),
        services,
        log_format="json",
        log_level="DEBUG",
        otel_console="true",
    ) as srv:
        yield srv


def _lines(output: str) -> list[dict[str, Any]]:
    lines = []
    for text in output.splitlines():
        if text.startswith("{") and '"requestId"' in text:
            lines.append(json.loads(text))
    return lines


@pytest.mark.e2e
@pytest.mark.xdist_group("security-tracing")
def test_a_request_id_leads_from_header_to_error_to_log_line(server):
    token = sign_up(server.graphql)
    user_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    rid, trace = f"partner-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    r = httpx.post(
        server.graphql,
        json={"query": "query Catalogue { videos(first: 500) { totalCount } }", "operationName": "Catalogue"},
        headers={
            "Authorization": f"Bearer {token}",
            "X-Request-Id": rid,
            "traceparent": f"00-{trace}-{uuid.uuid4().hex[:16]}-01",
        },
        timeout=30,
    )
    assert r.headers["x-request-id"] == rid
    error = r.json()["errors"][0]
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "first",
        "maxPage": 100,
        "requestId": rid,
    }

    mine = [line for line in _lines(server.output()) if line["requestId"] == rid]
    assert mine, server.output()[-3000:]
    for line in mine:  # every line of the request says who, what, and which trace
        assert (line["userId"], line["operation"], line["traceId"]) == (user_id, "Catalogue", trace), line
        assert set(line) >= {"time", "level", "logger", "message"}
    assert any("BAD_USER_INPUT" in line["message"] for line in mine), mine  # the error's own line
    assert any(line["logger"] == "uvicorn.access" for line in mine), mine  # and the access line
    assert token not in server.output()


@pytest.mark.e2e
@pytest.mark.xdist_group("security-tracing")
async def test_websocket_errors_carry_the_connections_request_id(server):
    rid = f"socket-{uuid.uuid4().hex[:12]}"
    async with websockets.connect(
        server.ws,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        additional_headers={"X-Request-Id": rid},
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        query = "{ videos(first: 500) { totalCount } }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["requestId"] == rid
