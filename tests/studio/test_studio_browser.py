"""The Studio in a real browser (Playwright driving the system Chromium) against a real
`autovideo serve` with its in-process worker: sign up → create a 15-second video → the stage
timeline advances live, without reload → the player loads the MP4 → regenerate in LANDSCAPE →
a second version appears → delete. The access token lives 15 s here, so the session outlives
several tokens: its live subscription keeps delivering and its next query works.

Screenshots of every page at 390x844 and 1440x900 go to test-artifacts/studio/ (or
AUTOVIDEO_TEST_ARTIFACTS). One server, one browser, one flow: the test is costly (two renders),
so it runs once, in the embedded pass (marker `browser`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import httpx
import pytest

from tests.live import ROOT, LiveServer, service_env

if TYPE_CHECKING:
    from playwright.sync_api import Route, ViewportSize

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.browser]

BUILD = ROOT / "web" / "build" / "index.html"
ARTIFACTS = Path(os.environ.get("AUTOVIDEO_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "studio"
TOKEN_SECONDS = 15
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
WAIT_RENDER_MS = 240_000

# Every change of a stage's state in the timeline, with the time it happened (page clock).
WATCH_TIMELINE = """() => {
  window.__seen = [];
  window.__loaded = performance.timeOrigin;
  const record = () => {
    for (const li of document.querySelectorAll('li[data-stage]')) {
      const entry = li.dataset.stage + ':' + li.dataset.state;
      if (!window.__seen.some((s) => s.entry === entry)) window.__seen.push({ entry, at: Date.now() });
    }
  };
  new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
  record();
}"""


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, capture_output=True)
        found = shutil.which("chromium")
    if found is None:
        pytest.fail("the system Chromium is missing: apt-get install chromium (or `make browser`)")
    return found


@pytest.fixture
def studio_server(tmp_path: Path, e2e_database: str, services: Any, redis_prefix: str) -> Any:
    if not BUILD.is_file():
        if shutil.which("npm") is None:
            pytest.skip("Node.js is not installed: the Studio cannot be built")
        pytest.fail("the Studio is not built: run `make studio`")
    env = service_env(e2e_database, services[1], tmp_path / "data", redis_prefix)
    env["AUTOVIDEO_RENDER_PRESET"] = "ultrafast"
    env["AUTOVIDEO_ACCESS_TOKEN_MINUTES"] = str(TOKEN_SECONDS / 60)
    srv = LiveServer(env, tmp_path / "server.log")
    try:
        srv.wait_ready(timeout=120)
        yield srv
    finally:
        srv.stop()


def api(server: LiveServer, token: str, query: str, variables: dict | None = None) -> dict:
    r = httpx.post(
        server.graphql,
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    return dict(r.json())


def ready_state(page: Any, wanted: int, attempts: int = 600) -> None:
    """Wait until the page's <video> has at least `wanted` readyState (wait_for_function would
    evaluate a string in the page, which the Studio's CSP forbids)."""
    for _ in range(attempts):
        if page.evaluate("() => document.querySelector('video')?.readyState ?? 0") >= wanted:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the video never reached readyState {wanted}")


def goto_between_refreshes(page: Any, url: str) -> None:
    """Load a page anew when no token rotation is due for a while. A reload that cuts off a
    refresh in flight loses the rotated pair (the server spent the old one), and presenting the
    spent one again ends the session: see the README (Studio) on this race."""
    for _ in range(100):
        left = page.evaluate(
            "() => JSON.parse(localStorage.getItem('autovideo.tokens')).expiresAt - Date.now()"
        )
        if left > 7_000:  # the client refreshes 3 s before expiry (a fifth of 15 s)
            page.goto(url)
            return
        page.wait_for_timeout(250)
    raise AssertionError("the access token was never fresh")


def test_studio_in_a_browser(studio_server: LiveServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    server = studio_server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots: list[str] = []
    external: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium(), args=["--no-sandbox"] if os.geteuid() == 0 else []
        )
        context = browser.new_context(viewport=DESKTOP)

        # Nothing may come from another origin (GraphiQL's assets included).
        def refuse(route: Route) -> None:
            external.append(route.request.url)
            route.abort()

        context.route(lambda url: not url.startswith(server.url) and not url.startswith(server.ws), refuse)
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        def shoot(name: str) -> None:
            for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
                page.set_viewport_size(size)
                path = ARTIFACTS / f"{name}-{label}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path.name)
            page.set_viewport_size(DESKTOP)

        # Sign up (the app sends a visitor to sign in first).
        page.goto(server.url + "/")
        expect(page).to_have_url(server.url + "/signin")
        expect(page.get_by_label("Username or email")).to_be_visible()
        shoot("signin")
        page.get_by_role("link", name="Create an account").click()
        expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
        name = f"studio_{uuid.uuid4().hex[:8]}"
        page.get_by_label("Username", exact=True).fill(name)
        page.get_by_label("Email").fill(f"{name}@example.com")
        page.get_by_label("Password").fill("a sturdy passphrase 42")
        shoot("signup")
        page.get_by_role("button", name="Sign up").click()
        expect(page).to_have_url(server.url + "/library")
        signed_up = time.time()
        first_token = page.evaluate("JSON.parse(localStorage.getItem('autovideo.tokens')).accessToken")

        # Create a 15-second video; bad input first: the server's message shows at its field.
        page.get_by_role("link", name="Create", exact=True).first.click()
        expect(page.get_by_role("heading", name="New video")).to_be_visible()
        page.get_by_label("Title").fill("Why bees dance")
        page.get_by_label("What is it about?").fill("How honeybees tell each other where flowers are")
        page.get_by_label("Length (seconds)").fill("5")
        page.get_by_role("button", name="Make the video").click()
        expect(page.locator("#duration-error")).to_be_visible()
        page.get_by_label("Length (seconds)").fill("15")
        page.get_by_label("Portrait 9:16").check()
        shoot("create")
        page.get_by_role("button", name="Make the video").click()
        page.wait_for_url("**/videos/**")
        video_id = page.url.rsplit("/", 1)[-1]

        # The timeline advances live: no reload between the first state and COMPLETED.
        page.evaluate(WATCH_TIMELINE)
        page.locator('li[data-state="RUNNING"], video').first.wait_for()
        shoot("video-processing")
        player = page.locator("video")
        player.wait_for(timeout=WAIT_RENDER_MS)
        ready_state(page, 2)
        seen = page.evaluate("window.__seen")
        assert page.evaluate("window.__loaded") is not None, "the page was reloaded"
        running = [s["entry"].split(":")[0] for s in seen if s["entry"].endswith(":RUNNING")]
        completed = [s["entry"].split(":")[0] for s in seen if s["entry"].endswith(":COMPLETED")]
        assert len(running) >= 2, seen  # at least two stages seen running, one after the other
        assert {"ASSEMBLY", "UPLOAD"} <= set(completed), seen

        token = page.evaluate("JSON.parse(localStorage.getItem('autovideo.tokens')).accessToken")

        # The player has the MP4 the API describes.
        video = api(
            server,
            token,
            "query($id: ID!) { video(id: $id) { duration status versions { version } } }",
            {"id": video_id},
        )["data"]["video"]
        assert video["status"] == "COMPLETED"
        duration = page.evaluate("document.querySelector('video').duration")
        assert abs(duration - video["duration"]) <= 0.2, (duration, video["duration"])
        assert page.locator("video track[kind=captions]").count() == 1
        expect(page.get_by_role("link", name="MP4")).to_be_visible()
        # Every download link answers; the SRT is the server's (cue numbers, comma decimals).
        bodies = {}
        for name in ("MP4", "VTT", "SRT", "Thumbnail"):
            href = page.get_by_role("link", name=name).get_attribute("href")
            answer = page.request.get(urljoin(page.url, href or ""))
            assert answer.ok, (name, href, answer.status)
            bodies[name] = answer.body()
        assert bodies["VTT"].startswith(b"WEBVTT"), bodies["VTT"][:40]
        assert bodies["SRT"].startswith(b"1\n") and b" --> " in bodies["SRT"], bodies["SRT"][:80]
        shoot("video")

        # The session outlives its first access token: once that token has expired (waited for,
        # however fast the render was), the tokens have been rotated in place (same page, no
        # sign-in) and the regeneration below can only appear live through a subscription that
        # outlived the token it was opened with.
        # (page.wait_for_timeout, not time.sleep: the route handler above answers from this
        # thread, so a sleeping thread would hold every request of the page, the refresh too.)
        page.wait_for_timeout(max(0.0, signed_up + TOKEN_SECONDS + 1 - time.time()) * 1000)
        expect(page.locator("[data-testid=status]")).to_have_text("Ready")
        assert page.evaluate("window.__loaded") is not None, "the page was reloaded"
        token = page.evaluate("JSON.parse(localStorage.getItem('autovideo.tokens')).accessToken")
        assert token != first_token

        # Regenerate in LANDSCAPE: a second version appears, live.
        page.evaluate(WATCH_TIMELINE)  # the stage changes seen from now on
        page.get_by_label("Frame").select_option("LANDSCAPE")
        page.get_by_role("button", name="Regenerate").click()
        expect(page.locator("[data-testid=versions] li")).to_have_count(2, timeout=WAIT_RENDER_MS)
        again = page.evaluate("window.__seen")
        assert any(s["entry"].endswith(":RUNNING") for s in again), again  # pushed, after expiry
        expect(page.locator("video")).to_be_visible(timeout=60_000)
        expect(page.locator("[data-testid=status]")).to_have_text("Ready")
        assert page.evaluate("window.__loaded") is not None, "the page was reloaded"
        # A query well after several token lifetimes still works, in the same session.
        page.get_by_role("link", name="Library").first.click()
        expect(page.locator("li.video")).to_have_count(1)
        expect(page.locator("li.video .badge")).to_have_text("Ready")
        assert "/signin" not in page.url
        shoot("library")

        # Every page, through the app's navigation (no reloads: see the README on rotation).
        for link, name in (("AI studio", "ai"), ("Settings", "settings"), ("Analytics", "analytics")):
            page.get_by_role("link", name=link, exact=True).first.click()
            expect(page.get_by_role("heading", level=1)).to_have_text(
                {"ai": "AI studio", "settings": "Settings", "analytics": "Analytics"}[name]
            )
            page.wait_for_load_state("networkidle")
            shoot(name)
        goto_between_refreshes(page, server.url + "/admin")  # a creator has no link to it
        expect(page.get_by_role("heading", level=1)).to_have_text("Admin")
        expect(page.get_by_role("alert")).to_contain_text("not allowed")  # a creator is no admin
        shoot("admin")

        # Delete, with confirmation.
        page.get_by_role("link", name="Library").first.click()
        page.get_by_role("link", name="Why bees dance").last.click()
        page.get_by_role("button", name="Delete", exact=True).click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Delete for good").click()
        expect(page).to_have_url(server.url + "/library")
        expect(page.locator("li.video")).to_have_count(0)
        token = page.evaluate("JSON.parse(localStorage.getItem('autovideo.tokens')).accessToken")
        gone = api(server, token, "query($id: ID!) { video(id: $id) { id } }", {"id": video_id})
        assert gone["data"]["video"] is None or gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"

        # GraphiQL draws from this server alone.
        page.goto(server.graphql)
        expect(page.locator(".graphiql-editors").first).to_be_visible()
        shoot("graphiql")

        browser.close()

    assert external == [], external
    assert errors == [], errors
    assert len(shots) == 2 * 11
