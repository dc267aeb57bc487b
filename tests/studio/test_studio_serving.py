"""How the server serves the Studio's build (runtime/studio.py): files, the SPA fallback, the page's
CSP, caching, paths outside the build, GraphiQL without a CDN; and the app's persisted-query
manifest against the server's schema."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate
from starlette.applications import Starlette
from starlette.testclient import TestClient

from runtime.security_headers import SecurityHeaders
from runtime.settings import Settings
from runtime.studio import (
    CDN,
    GRAPHIQL_ASSETS,
    build_dir,
    local_graphiql_html,
    page_csp,
    studio_routes,
)
from tests.live import ROOT

BOOT = "\n  __sveltekit_x = { base: '' };\n  import('/_app/immutable/entry/start.js');\n"
INDEX = f"<!doctype html><html><head></head><body><script>{BOOT}</script></body></html>"


def sha(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@pytest.fixture
def build(tmp_path: Path) -> Path:
    folder = tmp_path / "build"
    (folder / "_app" / "immutable").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "_app" / "immutable" / "app.abc123.js").write_text("export {}")
    (folder / "_app" / "version.json").write_text('{"version": "1"}')
    (tmp_path / "secret.txt").write_text("outside the build")
    return folder


def test_files_fallback_and_headers(build: Path) -> None:
    settings = Settings(studio_dir=build, public_base_url="https://studio.example")
    app = SecurityHeaders(Starlette(routes=studio_routes(settings)))
    with TestClient(app) as c:
        page = c.get("/videos/Video:1")  # a client-side route: the app's page
        assert page.status_code == 200
        assert page.text == INDEX
        assert page.headers["cache-control"] == "no-cache"
        csp = page.headers["content-security-policy"]
        assert f"script-src 'self' 'sha256-{sha(BOOT)}'" in csp
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "media-src 'self' blob: data: https: https://studio.example" in csp
        assert "'unsafe-eval'" not in csp
        assert page.headers.get_list("content-security-policy") == [csp]  # the route's, not the default too
        assert page.headers["x-content-type-options"] == "nosniff"

        assert c.get("/").text == INDEX
        asset = c.get("/_app/immutable/app.abc123.js")
        assert asset.text == "export {}"
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert asset.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert c.get("/_app/version.json").headers["cache-control"] == "no-cache"

        assert c.get("/_app/immutable/gone.js").status_code == 404  # a missing file is no page
        assert c.get("/secret.txt").status_code == 404
        for escape in ("/../secret.txt", "/_app/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"):
            answer = c.get(escape)
            assert "outside the build" not in answer.text, escape
        assert c.post("/library").status_code == 405
        # /graphql/ still reaches the API (as Starlette's slash redirect did before the catch-all)
        moved = c.post("/graphql/?x=1", follow_redirects=False)
        assert moved.status_code == 307 and moved.headers["location"].endswith("/graphql?x=1")
        assert c.get("/healthz/", follow_redirects=False).status_code == 307


def test_no_build_no_routes(tmp_path: Path) -> None:
    settings = Settings(studio_dir=tmp_path / "missing")
    assert build_dir(settings) is None
    assert studio_routes(settings) == []


def test_csp_hashes_every_inline_script_and_no_external_one() -> None:
    html = '<script src="/x.js"></script><script>a()</script><script type="module">b()</script>'
    csp = page_csp(html)
    assert f"'sha256-{sha('a()')}'" in csp and f"'sha256-{sha('b()')}'" in csp
    assert csp.count("'sha256-") == 2


def test_graphiql_assets_local_only_when_all_are_built(build: Path) -> None:
    from strawberry.http.ides import get_graphql_ide_html

    html = get_graphql_ide_html(graphql_ide="graphiql")
    assert CDN in html
    assert local_graphiql_html(html, build) == html  # assets missing: the CDN page
    assert local_graphiql_html(html, None) == html
    names = [line.split(CDN, 1)[1].split('"', 1)[0] for line in html.splitlines() if CDN in line]
    assert len(names) == 7
    for name in names:
        path = build / GRAPHIQL_ASSETS / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    local = local_graphiql_html(html, build)
    assert CDN not in local and "unpkg" not in local
    assert f'src="/{GRAPHIQL_ASSETS}/graphiql@' in local
    assert "integrity=" in local  # the same files as the CDN's: their hashes are kept


MANIFEST = ROOT / "web" / "src" / "lib" / "gql" / "persisted-documents.json"


@pytest.mark.skipif(not MANIFEST.is_file(), reason="the Studio's code is not generated (make studio)")
def test_persisted_manifest_matches_the_schema() -> None:
    """Every operation the Studio ships: its hash is the SHA-256 the server's APQ checks, and it
    validates against the schema this checkout serves."""
    from resolvers.root import schema as app_schema

    schema = build_schema(app_schema.as_str())
    manifest = json.loads(MANIFEST.read_text())
    assert len(manifest) >= 40
    for key, document in manifest.items():
        assert key == "sha256:" + hashlib.sha256(document.encode()).hexdigest()
        assert validate(schema, parse(document)) == [], document
