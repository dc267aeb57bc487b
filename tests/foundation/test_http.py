"""The real server over HTTP: GraphQL, GraphiQL, health and readiness."""

import httpx
import pytest

from tests.gql import body


@pytest.fixture
def server(live_api):
    return live_api


@pytest.mark.e2e
def test_http_endpoints(server):
    r = httpx.post(server.graphql, json={"query": "{ __typename }"})
    assert r.status_code == 200 and body(r.json()) == {"data": {"__typename": "Query"}}
    r = httpx.get(server.graphql, params={"query": "{ __typename }"})
    assert r.json()["data"]["__typename"] == "Query"
    html = httpx.get(server.graphql, headers={"Accept": "text/html"})
    assert html.status_code == 200 and "graphiql" in html.text.lower()
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["status"] == "ok" and all(c["ok"] for c in ready["checks"].values())
    bad = httpx.post(server.graphql, json={"query": "{ me { id }"})
    assert bad.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    unauth = httpx.post(
        server.graphql, json={"query": "{ me { id } }"}, headers={"Authorization": "Bearer nope"}
    )
    assert unauth.status_code == 401
    assert unauth.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    forged = httpx.get(f"{server.url}/media/videos/x/video.mp4", params={"exp": "9999999999", "sig": "00"})
    assert forged.status_code == 403
