"""Issue #10 item 4: requests of any size were accepted. Bodies, uploads, list variables,
nesting and websocket messages are capped; the caps hold while the body streams in (counted in
bytes the app pulled through ASGI `receive`), and an upload's type is decided by its content."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from websockets.typing import Subprotocol

from tests.auth.helpers import register
from tests.security.helpers import assert_no_leak, call_asgi, chunked, error_code, module_server, sign_up

MiB = 1024 * 1024
CHUNK = 64 * 1024
BOUNDARY = "sec-test-boundary"
CLONE = "mutation($n: String!, $s: Upload!) { cloneVoice(name: $n, sample: $s) { id } }"


@pytest.fixture
def view(resources):
    from graphql_runtime.view import GraphQLView
    from resolvers.root import schema

    return GraphQLView(lambda: resources, schema, multipart_uploads_enabled=True)


def json_headers(**extra: str) -> list[tuple[str, str]]:
    return [("content-type", "application/json"), *extra.items()]


def multipart_head(filename: str = "me.wav", ctype: str = "audio/wav", files: int = 1) -> bytes:
    ops = json.dumps({"query": CLONE, "variables": {"n": "x", "s": None}})
    mapping = json.dumps({str(i): ["variables.s"] for i in range(files)})
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{ops}\r\n',
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{mapping}\r\n',
    ]
    for i in range(files - 1):
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{i}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\nRIFF0000WAVE\r\n"
        )
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{files - 1}"; filename="{filename}"\r\n'
        f"Content-Type: {ctype}\r\n\r\n"
    )
    return "".join(parts).encode()


def multipart_headers(token: str | None) -> list[tuple[str, str]]:
    headers = [("content-type", f"multipart/form-data; boundary={BOUNDARY}")]
    if token:
        headers.append(("authorization", f"Bearer {token}"))
    return headers


# ---------------------------------------------------------------- in process: bytes read


async def test_json_body_over_the_cap_is_413_while_streaming(view):
    """No Content-Length (chunked): the app stops pulling the body one chunk past 1 MiB."""
    answer = await call_asgi(view, headers=json_headers(), body=chunked(50 * MiB, CHUNK, b'{"query": "'))
    assert answer.status == 413
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert answer.read <= MiB + CHUNK


async def test_declared_length_over_the_cap_is_413_before_reading(view):
    headers = json_headers(**{"content-length": str(50 * MiB)})
    answer = await call_asgi(view, headers=headers, body=chunked(50 * MiB, CHUNK, b'{"query": "'))
    assert answer.status == 413 and answer.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert answer.read == 0


async def test_a_body_under_the_cap_still_runs(view):
    text = "x" * (MiB - 2000)
    body = json.dumps({"query": "query($t: ID!) { node(id: $t) { id } }", "variables": {"t": text}}).encode()
    answer = await call_asgi(view, headers=json_headers(), body=[body])
    assert answer.status == 200, answer.body[:300]
    assert answer.json()["data"] == {"node": None}


async def test_multipart_from_an_anonymous_caller_is_401_before_reading(view):
    answer = await call_asgi(
        view, headers=multipart_headers(None), body=chunked(30 * MiB, CHUNK, multipart_head())
    )
    assert answer.status == 401
    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert answer.read == 0  # nothing read, so nothing was written to disk


async def test_an_upload_over_10_mib_is_413_while_streaming(view, resources):
    token = (await register(resources))["accessToken"]
    answer = await call_asgi(
        view, headers=multipart_headers(token), body=chunked(50 * MiB, CHUNK, multipart_head(), fill=b"\x00")
    )
    assert answer.status == 413, answer.body[:300]
    assert answer.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert answer.read <= 10 * MiB + 2 * CHUNK + len(multipart_head())


async def test_more_files_than_allowed_are_refused(view, resources):
    token = (await register(resources))["accessToken"]
    tail = f"RIFF0000WAVE\r\n--{BOUNDARY}--\r\n".encode()
    answer = await call_asgi(view, headers=multipart_headers(token), body=[multipart_head(files=3) + tail])
    assert answer.status in (400, 413), answer.body[:300]
    assert answer.json()["errors"][0]["extensions"]["code"] in ("BAD_REQUEST", "PAYLOAD_TOO_LARGE")


async def test_list_variables_are_capped(view):
    """20,000 items fit in 1 MiB but would cost seconds of event loop in coercion."""
    query = "query($ids: [ID!]) { __typename }"
    many = json.dumps({"query": query, "variables": {"ids": ["1"] * 20_000}}).encode()
    assert len(many) < MiB
    answer = await call_asgi(view, headers=json_headers(), body=[many])
    assert answer.status == 413 and answer.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert "items" in answer.json()["errors"][0]["message"]
    few = json.dumps({"query": query, "variables": {"ids": ["1"] * 1000}}).encode()
    answer = await call_asgi(view, headers=json_headers(), body=[few])
    assert answer.status == 200 and "PAYLOAD_TOO_LARGE" not in answer.body.decode()


async def test_deep_json_is_400(view):
    deep = b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    answer = await call_asgi(view, headers=json_headers(), body=[deep])
    assert answer.status == 400 and answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    shallow = b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 40 + b"]" * 40 + b"}}"
    answer = await call_asgi(view, headers=json_headers(), body=[shallow])
    assert answer.status == 400 and "deep" in answer.json()["errors"][0]["message"]


async def test_a_long_query_string_is_413(view):
    answer = await call_asgi(view, method="GET", query_string=b"query=" + b"%20" * (MiB // 2))
    assert answer.status == 413 and answer.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


# ---------------------------------------------------------------- the real server


@pytest.fixture(scope="module")
def server(tmp_path_factory, services, migrated_url):
    with module_server(tmp_path_factory.mktemp("server"), services) as srv:
        yield srv


@pytest.mark.e2e
@pytest.mark.xdist_group("security-limits")
def test_real_server_refuses_large_and_deep_bodies(server):
    url = server.graphql
    big = b'{"query": "{ __typename }", "variables": {"t": "' + b"x" * (50 * MiB) + b'"}}'
    r = httpx.post(url, content=big, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 and error_code(r) == "PAYLOAD_TOO_LARGE"
    million = (
        b'{"query": "query($v: [Int!]) { __typename }", "variables": {"v": [' + b"1," * 999_999 + b"1]}}"
    )
    r = httpx.post(url, content=million, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 and error_code(r) == "PAYLOAD_TOO_LARGE"
    deep = b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    r = httpx.post(url, content=deep, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 400 and error_code(r) == "BAD_REQUEST"
    assert_no_leak(r.text)
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert "Traceback" not in server.output()


@pytest.mark.e2e
@pytest.mark.xdist_group("security-limits")
def test_real_server_refuses_anonymous_and_oversized_uploads(server):
    url = server.graphql
    ops = json.dumps({"query": CLONE, "variables": {"n": "x", "s": None}})
    form = {"operations": ops, "map": '{"0": ["variables.s"]}'}
    anonymous = httpx.post(url, data=form, files={"0": ("me.wav", b"RIFF0000WAVE", "audio/wav")})
    assert anonymous.status_code == 401 and error_code(anonymous) == "UNAUTHENTICATED"
    token = sign_up(url)
    headers = {"Authorization": f"Bearer {token}"}
    huge = httpx.post(
        url, data=form, files={"0": ("me.wav", b"\0" * (11 * MiB), "audio/wav")}, headers=headers, timeout=30
    )
    assert huge.status_code == 413 and error_code(huge) == "PAYLOAD_TOO_LARGE"


@pytest.mark.e2e
@pytest.mark.xdist_group("security-limits")
async def test_real_server_caps_websocket_messages(server):
    async with websockets.connect(
        server.ws, subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        big = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": "{ __typename }", "variables": {"t": "x" * (2 * MiB)}},
        }
        # The server may close (1009) while the client is still writing the frame: then send
        # itself raises. Either way the socket must end with 1009 from the server.
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.send(json.dumps(big))
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    # One below the cap passes through the same socket kind.
    async with websockets.connect(server.ws, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        payload = {"query": "query($t: ID!) { node(id: $t) { id } }", "variables": {"t": "x" * (MiB // 2)}}
        ok = {"id": "2", "type": "subscribe", "payload": payload}
        await ws.send(json.dumps(ok))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert (answer["id"], answer["type"], answer["payload"]["data"]) == ("2", "next", {"node": None})
