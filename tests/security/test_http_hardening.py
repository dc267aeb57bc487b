"""Issue #10 item 9 (media content type, security headers, GraphiQL/introspection in production,
trusted proxies), through the app in-process."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select

from domain import audit
from persistence.audit import AuditEvent
from providers.storage.local import LocalStorage, sign
from tests.gql import body

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
PRODUCTION = {
    "environment": "production",
    "secret_key": "p" * 48,
    "encryption_key": "Zk5mWlN0dW5nQ0h3R3J5b2dVY3N0Wm5rV1JzY0hHaXc=",
}
FAILED_LOGIN = 'mutation { login(input: {login: "nobody", password: "wrong password 123"}) { tokenType } }'


@pytest.fixture
async def media(tmp_path: Path):
    """The media route alone (no database needed): the app with a LocalStorage of its own."""
    from app import create_app
    from runtime.settings import Settings

    settings = Settings(environment="test", data_dir=tmp_path / "data", secret_key="m" * 40, _env_file=None)
    storage = LocalStorage(tmp_path / "media", settings.public_base_url, settings.signing_secret)
    app = create_app(settings, run_worker=False)
    app.state.runtime_state["resources"] = SimpleNamespace(storage=storage)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield storage, client


def _with(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return f"{parts.path}?{urlencode(query)}"


async def test_media_type_comes_from_the_key_and_filename_is_signed(media):
    storage, client = media
    await storage.put_bytes("videos/v/video.mp4", b"<script>alert(1)</script>", "video/mp4")
    plain = await storage.url("videos/v/video.mp4")

    ok = await client.get(plain)
    assert ok.status_code == 200 and ok.headers["content-type"] == "video/mp4"
    assert "sandbox" in ok.headers["content-security-policy"]
    # an unsigned filename no longer changes anything: the link is refused
    forged = await client.get(_with(plain, filename="evil.html"))
    assert forged.status_code == 403
    # a filename we signed names the download, and only that
    named = await client.get(await storage.url("videos/v/video.mp4", filename="evil.html"))
    assert named.status_code == 200 and named.headers["content-type"] == "video/mp4"
    assert (
        named.headers["content-disposition"].startswith("attachment")
        and "evil.html" in (named.headers["content-disposition"])
    )
    swapped = await client.get(
        _with(await storage.url("videos/v/video.mp4", filename="a.mp4"), filename="b.html")
    )
    assert swapped.status_code == 403

    # unknown kinds are opaque downloads, whatever their bytes or names
    await storage.put_bytes("videos/v/page.html", b"<html><script>alert(1)</script>", "text/html")
    page = await client.get(await storage.url("videos/v/page.html"))
    assert page.headers["content-type"] == "application/octet-stream"
    assert page.headers["content-disposition"] == "attachment"
    for key, kind in [
        ("a/t.jpg", "image/jpeg"),
        ("a/c.vtt", "text/vtt; charset=utf-8"),
        ("a/n.wav", "audio/wav"),
    ]:
        await storage.put_bytes(key, b"x", "ignored")
        assert (await client.get(await storage.url(key))).headers["content-type"] == kind


async def test_old_style_links_without_filename_still_verify(media):
    storage, client = media
    await storage.put_bytes("videos/v/thumbnail.jpg", b"jpg", "image/jpeg")
    exp = int(time.time()) + 60
    r = await client.get(
        "/media/videos/v/thumbnail.jpg",
        params={"exp": exp, "sig": sign(storage.secret, "videos/v/thumbnail.jpg", exp)},
    )
    assert r.status_code == 200


async def test_security_headers_on_every_response(media):
    _, client = media
    for r in [
        await client.get("/healthz"),
        await client.get("/media/videos/x/video.mp4", params={"exp": "1", "sig": "00"}),
        await client.get("/nowhere"),
        await client.options("/graphql"),
    ]:
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (r.url, name)
        assert len(r.headers.get_list("content-security-policy")) == 1
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "strict-transport-security" not in r.headers  # the public URL is http


async def test_hsts_and_graphiql_in_development(app_client):
    async with app_client(public_base_url="https://api.example.com") as client:
        r = await client.post("/graphql", json={"query": "{ __typename }"})
        assert r.headers["strict-transport-security"].startswith("max-age=")
        assert r.headers["content-security-policy"] == "frame-ancestors 'none'"
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        # GraphiQL's scripts come from a CDN and run inline: only framing is restricted
        assert page.headers["content-security-policy"] == "frame-ancestors 'none'"
        intro = await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
        assert intro.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_graphiql_and_introspection_off_in_production(app_client):
    async with app_client(**PRODUCTION) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        for query in ["{ __schema { types { name } } }", '{ __type(name: "User") { fields { name } } }']:
            r = (await client.post("/graphql", json={"query": query})).json()
            assert (
                r.get("data") is None and r["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            )
        assert body((await client.post("/graphql", json={"query": "{ __typename }"})).json()) == {
            "data": {"__typename": "Query"}
        }
    async with app_client(**PRODUCTION, graphiql=True, introspection=True) as client:
        assert "graphiql" in (await client.get("/graphql", headers={"Accept": "text/html"})).text.lower()
        r = await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
        assert r.json()["data"]["__schema"]["queryType"]["name"] == "Query"


def test_production_defaults():
    from runtime.settings import Settings

    prod = Settings(**PRODUCTION, _env_file=None)  # type: ignore[arg-type]
    assert prod.graphiql is False and prod.introspection is False and prod.trusted_proxies == []
    dev = Settings(_env_file=None)
    assert dev.graphiql is True and dev.introspection is True


async def _failed_login_addresses(client, e2e_database, spoofed: list[str]) -> list[str]:
    from sqlalchemy.ext.asyncio import create_async_engine

    for address in spoofed:
        r = await client.post("/graphql", json={"query": FAILED_LOGIN}, headers={"X-Forwarded-For": address})
        assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    engine = create_async_engine(e2e_database)
    try:
        async with engine.connect() as conn:
            rows = await conn.scalars(
                select(AuditEvent.client_address).where(AuditEvent.action == audit.LOGIN_FAILED)
            )
            return sorted(str(a) for a in rows)
    finally:
        await engine.dispose()


async def test_forwarded_for_is_ignored_from_untrusted_peers(app_client, e2e_database):
    async with app_client(anonymous_operations_per_minute=3) as client:
        addresses = await _failed_login_addresses(client, e2e_database, ["203.0.113.1", "203.0.113.2"])
        assert addresses == ["127.0.0.1", "127.0.0.1"]
        # the rate limit counts the socket's peer: rotating the header does not escape it
        r = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"X-Forwarded-For": "203.0.113.3"}
        )
        assert r.json()["data"] == {"__typename": "Query"}
        r = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"X-Forwarded-For": "203.0.113.4"}
        )
        assert r.json()["errors"][0]["extensions"]["code"] == "THROTTLED"


async def test_forwarded_for_is_used_from_trusted_proxies(app_client, e2e_database):
    async with app_client(trusted_proxies=["127.0.0.0/8"], anonymous_operations_per_minute=3) as client:
        addresses = await _failed_login_addresses(
            client, e2e_database, ["203.0.113.1", "10.9.9.9, 203.0.113.2"]
        )
        assert addresses == ["203.0.113.1", "203.0.113.2"]
        for i in range(4):  # each forwarded client is counted on its own
            r = await client.post(
                "/graphql",
                json={"query": "{ __typename }"},
                headers={"X-Forwarded-For": f"203.0.113.{10 + i}"},
            )
            assert r.json()["data"] == {"__typename": "Query"}
