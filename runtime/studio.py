"""The Studio (web/, a SvelteKit app built by adapter-static into static files) served at `/`,
with the SPA fallback, and GraphiQL's assets served from that build instead of a CDN.

- Files of the build are served as they are: `/_app/immutable/…` (content-hashed names) cached
  for a year, everything else revalidated. A path that is no file gets the app's `index.html`
  (the client router draws the page), unless it looks like a file (`.js`, `.png`, …): 404.
- The app's page carries its own Content-Security-Policy: scripts from this origin and the
  bootstrap script inlined in `index.html` (allowed by its SHA-256, computed here at start),
  network to this origin (HTTP and websocket) and media from here or the public base URL.
- The API routes (`/graphql`, `/media`, `/metrics`, `/healthz`, `/readyz`) are matched first and
  never reach this code. Without a build (no Node on the machine), nothing is mounted: the API
  alone is served, as before.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from runtime.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUILD = ROOT / "web" / "build"
GRAPHIQL_ASSETS = "graphiql-assets"
CDN = "https://unpkg.com/"
IMMUTABLE = "public, max-age=31536000, immutable"
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
_CDN_ASSET = re.compile(r'"https://unpkg\.com/([^"]+)"')
# The API's own paths: with a trailing slash they are redirected to it, as without the Studio.
API_PATHS = frozenset({"graphql", "healthz", "readyz", "metrics"})


def build_dir(settings: Settings) -> Path | None:
    """The Studio's build, when there is one (its index.html exists)."""
    folder = (settings.studio_dir or DEFAULT_BUILD).resolve()
    return folder if (folder / "index.html").is_file() else None


def page_csp(index_html: str, public_base_url: str = "") -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(index_html)
    )
    media = "'self' blob: data: https:"
    base = urlsplit(public_base_url)
    if base.scheme in ("http", "https") and base.netloc:
        media += f" {base.scheme}://{base.netloc}"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {hashes}".rstrip(),
            "style-src 'self' 'unsafe-inline'",
            f"img-src {media}",
            f"media-src {media}",
            "connect-src 'self' ws: wss:",
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class Studio:
    """The endpoint of `/{path}`: a file of the build, else the app's page."""

    def __init__(self, folder: Path, public_base_url: str = "") -> None:
        self.folder = folder
        self.index = folder / "index.html"
        self.csp = page_csp(self.index.read_text(encoding="utf-8"), public_base_url)

    def _file(self, path: str) -> Path | None:
        if not path or "\\" in path or "\x00" in path:
            return None
        candidate = (self.folder / path).resolve()
        if not candidate.is_relative_to(self.folder) or not candidate.is_file():
            return None
        return candidate

    async def serve(self, request: Request) -> Response:
        path = request.path_params.get("path", "")
        if path.endswith("/") and path.rstrip("/") in API_PATHS:
            return RedirectResponse(request.url.replace(path="/" + path.rstrip("/")), status_code=307)
        if request.method not in ("GET", "HEAD"):
            return PlainTextResponse("Method Not Allowed", status_code=405, headers={"Allow": "GET, HEAD"})
        found = self._file(path)
        if found is not None and found != self.index:
            cache = IMMUTABLE if path.startswith("_app/immutable/") else "no-cache"
            return FileResponse(found, headers={"Cache-Control": cache})
        last = path.rsplit("/", 1)[-1]
        if "." in last and not last.endswith(".html"):
            return PlainTextResponse("Not found", status_code=404)
        return FileResponse(
            self.index,
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-cache", "Content-Security-Policy": self.csp},
        )


def studio_routes(settings: Settings) -> list[Route]:
    """The catch-all route of the Studio; none without a build. Add it after the API's routes."""
    folder = build_dir(settings)
    if folder is None:
        return []
    studio = Studio(folder, settings.public_base_url)
    # Every method: the API's paths with a trailing slash are redirected whatever the method.
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return [Route("/{path:path}", studio.serve, methods=methods)]


def local_graphiql_html(html: str, folder: Path | None) -> str:
    """GraphiQL's page with its scripts and styles loaded from this server when the build has
    them all (`web/scripts/vendor-graphiql.mjs` copies them from npm with the same versions, so
    the page's integrity hashes still hold); the CDN page otherwise."""
    if folder is None:
        return html
    assets = folder / GRAPHIQL_ASSETS
    if not all((assets / name).is_file() for name in _CDN_ASSET.findall(html)):
        return html
    return html.replace(CDN, f"/{GRAPHIQL_ASSETS}/")


def with_local_graphiql(view_class: Any, settings: Settings) -> Any:
    """A subclass of the GraphQL view whose GraphiQL page loads its assets from the build."""
    folder = build_dir(settings)

    class LocalGraphiQL(view_class):  # type: ignore[misc]
        _local_html: str | None = None

        @property
        def graphql_ide_html(self) -> str:
            if self._local_html is None:
                self._local_html = local_graphiql_html(super().graphql_ide_html, folder)
            return self._local_html

    LocalGraphiQL.__name__ = view_class.__name__
    LocalGraphiQL.__qualname__ = view_class.__qualname__
    return LocalGraphiQL
