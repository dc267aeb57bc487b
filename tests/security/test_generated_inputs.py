"""Issue #10, "tests that must exist": a generated-input suite against the real server.

Operations are generated from the schema by hypothesis-graphql (valid ones and ones with one
schema violation, strings with NULs included), sent as written and with their arguments lifted
into variables, signed in and anonymous; then malformed JSON bodies, GET parameters, multipart
requests and websocket frames. Every answer must be below 500, carry no INTERNAL_SERVER_ERROR,
traceback or SQL, nothing may escape to the ASGI server, and a separate process polling /healthz
must see every answer within 100 ms while all this runs. Hypothesis is derandomized, so a CI run
is reproducible."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from tests.security.helpers import LEAKS, module_server, sign_up

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("security-generated")]

HEALTHZ_BUDGET_MS = 100.0  # the bound. What breaks it: work on the event loop, and full
# garbage collections over a large heap (every cached document's AST is in it).
# Fields left out: an Upload cannot be written inline, and ending the test user's own session
# would turn the rest of the signed-in run into UNAUTHENTICATED answers.
SKIPPED_FIELDS = {"cloneVoice", "logout", "changePassword"}
EXAMPLES = {"operations": 120, "bodies": 60, "multipart": 25, "websocket": 50}

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no example database, no slow "explain"
)


def _schema() -> graphql.GraphQLSchema:
    from resolvers.root import schema

    return schema._schema


DATES = st.one_of(st.datetimes().map(lambda d: d.isoformat()), st.text(max_size=12))
SCALARS = {
    "DateTime": DATES.map(nodes.String),
    "Date": st.one_of(st.dates().map(str), st.text(max_size=12)).map(nodes.String),
}


def _fields() -> list[str]:
    schema = _schema()
    names = [*schema.query_type.fields, *schema.mutation_type.fields]  # type: ignore[union-attr]
    return [n for n in names if n not in SKIPPED_FIELDS]


def operations() -> st.SearchStrategy[str]:
    schema, fields = _schema(), _fields()
    return st.one_of(
        from_schema(schema, fields=fields, custom_scalars=SCALARS, mode=Mode.POSITIVE),
        from_schema(schema, fields=fields, custom_scalars=SCALARS, mode=Mode.NEGATIVE),
    )


def lift_arguments(document: str) -> tuple[str, dict[str, Any]]:
    """The same operation with each root field's literal arguments passed as variables."""
    schema = _schema()
    variables: dict[str, Any] = {}

    def lift(op: graphql.OperationDefinitionNode) -> graphql.OperationDefinitionNode:
        root = schema.mutation_type if op.operation == graphql.OperationType.MUTATION else schema.query_type
        definitions = list(op.variable_definitions or ())
        selections = []
        for selection in op.selection_set.selections:
            field = (
                root.fields.get(selection.name.value)
                if root and isinstance(selection, graphql.FieldNode)
                else None
            )
            if field is None:
                selections.append(selection)
                continue
            assert isinstance(selection, graphql.FieldNode)  # a field was found for it
            arguments = []
            for argument in selection.arguments or ():
                arg_def = field.args.get(argument.name.value)
                if arg_def is None:
                    arguments.append(argument)
                    continue
                name = f"v{len(variables)}"
                variables[name] = graphql.value_from_ast_untyped(argument.value)
                variable = graphql.VariableNode(name=graphql.NameNode(value=name))
                definitions.append(
                    graphql.VariableDefinitionNode(
                        variable=variable, type=graphql.parse_type(str(arg_def.type))
                    )
                )
                arguments.append(replace(argument, value=variable))
            selections.append(replace(selection, arguments=tuple(arguments)))
        selection_set = replace(op.selection_set, selections=tuple(selections))
        return replace(op, variable_definitions=tuple(definitions), selection_set=selection_set)

    ast = graphql.parse(document)
    lifted = [lift(d) if isinstance(d, graphql.OperationDefinitionNode) else d for d in ast.definitions]
    return graphql.print_ast(replace(ast, definitions=tuple(lifted))), variables


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
)


class Probe:
    """Sends requests and checks every answer."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.http = httpx.Client(timeout=30)
        self.count = 0
        self.log: list[tuple[float, float, str]] = []  # (started, ended, what) of every exchange

    def headers(self, signed_in: bool) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if signed_in else {}

    def check(self, r: httpx.Response, what: object) -> None:
        self.count += 1
        assert r.status_code < 500, (what, r.status_code, r.text[:500])
        assert "INTERNAL_SERVER_ERROR" not in r.text, (what, r.text[:500])
        found = LEAKS.search(r.text)
        assert found is None, (what, found.group(0), r.text[:500])

    @contextlib.contextmanager
    def timed(self, what: object) -> Iterator[None]:
        started = time.time()
        try:
            yield
        finally:
            self.log.append((started, time.time(), str(what)[:300]))

    def send(self, method: str, what: object, **kw: Any) -> None:
        with self.timed(what):
            r = self.http.request(method, self.url, **kw)
        self.check(r, what)

    def post_json(self, body: bytes, signed_in: bool, what: object = None) -> None:
        headers = {"content-type": "application/json", **self.headers(signed_in)}
        self.send("POST", what or body[:300], content=body, headers=headers)

    def in_flight(self, at: float, ms: float) -> list[str]:
        """What overlapped a /healthz poll started at `at` (epoch seconds)."""
        return [w for a, b, w in self.log if a <= at + ms / 1000 and b >= at][:5]


HEALTH_POLLER = textwrap.dedent(
    """
    import json, select, sys, time, httpx
    url, polls = sys.argv[1], []
    with httpx.Client(timeout=5) as client:
        while not select.select([sys.stdin], [], [], 0.02)[0]:  # every 20 ms until told to stop
            started, start = time.time(), time.perf_counter()
            status = client.get(url).status_code
            polls.append(((time.perf_counter() - start) * 1000, status, started))
    print(json.dumps(polls))
    """
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, services, migrated_url):
    # No rate limits: the point is to reach the resolvers, not the limiter.
    with module_server(
        tmp_path_factory.mktemp("server"),
        services,
        operations_per_minute="0",
        anonymous_operations_per_minute="0",
    ) as srv:
        yield srv


def test_generated_inputs_never_break_the_server(server):
    token = sign_up(server.graphql)
    probe = Probe(server.graphql, token)
    # Every root field once before the clock starts: a code path's first use (imports, caches)
    # is a one-off per process, not the steady state this measures.
    warm_up(probe)
    poller = subprocess.Popen(
        [sys.executable, "-c", HEALTH_POLLER, f"{server.url}/healthz"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    # The bound is about the server stalling its own event loop, not about sharing two cores
    # with other test workers (ffmpeg renders): the server and the poller get the CPU first.
    for pid in (server.proc.pid, poller.pid):
        with contextlib.suppress(PermissionError):
            os.setpriority(os.PRIO_PROCESS, pid, -10)
    try:
        run_operations(probe)
        run_bodies(probe)
        run_multipart(probe)
        run_websocket(probe, server.ws)
    finally:
        out, _ = poller.communicate("stop\n", timeout=30)
    polls = json.loads(out)
    assert polls and all(status == 200 for _, status, _ in polls)
    worst_ms, _, worst_at = max(polls)
    print(f"{probe.count} answers checked; /healthz polled {len(polls)} times, worst {worst_ms:.1f} ms")
    assert worst_ms <= HEALTHZ_BUDGET_MS, (
        f"/healthz took {worst_ms:.0f} ms; slowest polls {sorted(ms for ms, _, _ in polls)[-5:]}; "
        f"requests in flight then: {probe.in_flight(worst_at, worst_ms)}"
    )
    # Nothing escaped to the ASGI server (a 500, or a websocket task that died).
    log = server.output()
    for crash in (
        "Exception in ASGI application",
        "Task exception was never retrieved",
        "Exception in worker task",
    ):
        assert crash not in log, log[log.index(crash) - 200 :][:5000]


def warm_up(probe: Probe) -> None:
    schema = _schema()
    for name in _fields():

        @settings(FUZZ, max_examples=1)
        @given(document=from_schema(schema, fields=[name], custom_scalars=SCALARS))
        def case(document: str) -> None:
            probe.post_json(json.dumps({"query": document}).encode(), True, document)

        case()


def run_operations(probe: Probe) -> None:
    @settings(FUZZ, max_examples=EXAMPLES["operations"])
    @given(document=operations(), lifted=st.booleans(), signed_in=st.booleans())
    def case(document: str, lifted: bool, signed_in: bool) -> None:
        query, variables = lift_arguments(document) if lifted else (document, {})
        body = json.dumps({"query": query, "variables": variables}).encode()
        probe.post_json(body, signed_in, (query, variables))

    case()


def run_bodies(probe: Probe) -> None:
    documents = st.one_of(st.just("{ __typename }"), st.just("{ me { id } }"), st.text(max_size=40), JSON)
    shaped = st.fixed_dictionaries(
        {"query": documents}, optional={"variables": JSON, "operationName": JSON, "extensions": JSON}
    )
    raw = st.one_of(
        st.binary(max_size=200),
        JSON.map(lambda v: json.dumps(v).encode()),
        shaped.map(lambda v: json.dumps(v).encode()),
        st.integers(1, 3000).map(
            lambda n: b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * n + b"]" * n + b"}}"
        ),
    )
    params = st.dictionaries(
        st.sampled_from(["query", "variables", "operationName", "extensions"]), st.text(max_size=40)
    )

    @settings(FUZZ, max_examples=EXAMPLES["bodies"])
    @given(body=raw, query_params=params, signed_in=st.booleans())
    def case(body: bytes, query_params: dict[str, str], signed_in: bool) -> None:
        probe.post_json(body, signed_in)
        probe.send("GET", query_params, params=query_params, headers=probe.headers(signed_in))

    case()


def run_multipart(probe: Probe) -> None:
    clone = json.dumps({"query": "mutation($s: Upload!) { cloneVoice(name: \"x\", sample: $s) { id } }",
                        "variables": {"s": None}})  # fmt: skip
    fields = st.one_of(
        st.just(clone), st.just('{"0": ["variables.s"]}'), st.text(max_size=30), JSON.map(json.dumps)
    )
    files = st.lists(
        st.tuples(st.sampled_from(["0", "1", "operations", "map", ""]), st.binary(max_size=64)), max_size=3
    )

    @settings(FUZZ, max_examples=EXAMPLES["multipart"])
    @given(operations=fields, mapping=fields, uploads=files, raw=st.binary(max_size=120))
    def case(operations: str, mapping: str, uploads: list[tuple[str, bytes]], raw: bytes) -> None:
        auth = probe.headers(True)
        form = {"operations": operations, "map": mapping}
        upload_parts = [(name, ("a.wav", data, "audio/wav")) for name, data in uploads]
        probe.send(
            "POST", (operations, mapping, uploads), data=form, files=upload_parts or None, headers=auth
        )
        headers = {**auth, "content-type": "multipart/form-data; boundary=b"}
        probe.send("POST", raw, content=raw, headers=headers)

    case()


def run_websocket(probe: Probe, url: str) -> None:
    kinds = st.one_of(
        st.sampled_from(["connection_init", "subscribe", "complete", "ping", "pong", "next", "error"]), JSON
    )
    payloads = st.one_of(
        JSON,
        st.fixed_dictionaries(
            {"query": st.one_of(operations(), st.text(max_size=20), JSON)},
            optional={"variables": JSON, "operationName": JSON, "extensions": JSON},
        ),
    )
    messages = st.one_of(
        st.fixed_dictionaries(
            {"type": kinds}, optional={"id": st.one_of(st.text(max_size=4), JSON), "payload": payloads}
        ),
        JSON,
    )
    frames = st.one_of(messages.map(json.dumps), st.text(max_size=40))
    # Closing codes that say "your message was wrong", never "the server failed" (1011).
    refusals = {1000, 1009, 4400, 4401, 4403, 4406, 4408, 4409, 4429}

    @settings(FUZZ, max_examples=EXAMPLES["websocket"])
    @given(frame=frames, signed_in=st.booleans())
    def case(frame: str, signed_in: bool) -> None:
        with probe.timed(frame):
            exchange(frame, signed_in)

    def exchange(frame: str, signed_in: bool) -> None:
        with ws_connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:  # type: ignore[list-item]
            payload = {"authorization": f"Bearer {probe.token}"} if signed_in else {}
            ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
            try:
                ws.send(frame)
                ws.send(json.dumps({"type": "ping"}))
                while True:  # answers to the frame, then our pong, or a close
                    message = json.loads(ws.recv(timeout=10))
                    probe.count += 1
                    text = json.dumps(message)
                    assert "INTERNAL_SERVER_ERROR" not in text and LEAKS.search(text) is None, (frame, text)
                    if message.get("type") == "pong":
                        break
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                assert code in refusals, (frame, code)

    case()
