"""Server-side request forgery through a user's own provider key (issue #10, item 1), through the
schema and the domain on real PostgreSQL and Redis, with production's rules (public addresses
only, ports 80 and 443). There is no internet here: `FakeInternet` answers DNS and routes the
"public" addresses to local fake servers; a `target` server stands for something internal (a
service on this machine's port 80, the metadata endpoint) and must never get a request."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from persistence.enums import Role
from providers.ai.errors import ADDRESS_REFUSED
from providers.ai.opaque import UNREACHABLE
from tests.ai.conftest import new_user
from tests.gql import codes, execute
from tests.providers.external.ai_ext_fakes import (
    FakeServer,
    openai_chat,
    png_bytes,
    reply_error,
    reply_json,
    reply_raw,
    script_payload,
)
from tests.security.outbound_fakes import (
    OTHER_PUBLIC,
    PUBLIC,
    FakeInternet,
    reply_bytes,
    reply_redirect,
    start_fake,
)

SET_KEY = """mutation($p: String!, $k: String!, $u: String) {
  setProviderKey(provider: $p, apiKey: $k, baseUrl: $u) { provider baseUrl } }"""
SCRIPT = "mutation($input: GenerateScriptInput!) { generateScript(input: $input) { title } }"
IMAGE = "mutation($input: GenerateImageInput!) { generateImage(input: $input) { url width height } }"
LOG = "{ aiGenerations(first: 20) { edges { node { provider status errorMessage } } } }"
OWN_KEY = "sk-own-user-key-0123456789"
TARGET_TITLE = "Internal Answer"


@pytest.fixture(scope="module")
def _servers() -> Iterator[tuple[FakeServer, FakeServer]]:
    provider, stop_provider = start_fake()
    target, stop_target = start_fake()
    yield provider, target
    stop_provider()
    stop_target()


@pytest.fixture
def provider(_servers: tuple[FakeServer, FakeServer]) -> Iterator[FakeServer]:
    """The user's "provider": a public host, as far as the server can tell."""
    _servers[0].reset()
    yield _servers[0]
    _servers[0].reset()


@pytest.fixture
def target(_servers: tuple[FakeServer, FakeServer]) -> Iterator[FakeServer]:
    """Something internal. It answers like a provider would, so reaching it would succeed."""
    server = _servers[1]
    server.reset()
    server.on(
        "POST", r"/chat/completions$", reply_json(openai_chat(json.dumps(script_payload(title=TARGET_TITLE))))
    )
    server.on("GET", r".*", reply_bytes(png_bytes(64, 64)))
    yield server
    server.reset()


@pytest.fixture
async def net(monkeypatch: pytest.MonkeyPatch, target: FakeServer) -> FakeInternet:
    import asyncio

    internet = FakeInternet()
    internet.install(asyncio.get_running_loop(), monkeypatch)
    for internal in ("127.0.0.1", "::ffff:7f00:1", "169.254.169.254", "10.0.0.5"):
        internet.route(internal, 80, target)  # e.g. an admin service on this machine's port 80
    return internet


@pytest.fixture
def production_rules(resources: Any) -> Any:
    settings = resources.settings
    settings.allow_private_provider_urls = False
    settings.outbound_allowed_ports = [80, 443]
    settings.ai_timeout_seconds = 10
    return settings


async def _log(resources: Any, who: Any) -> list[tuple[str, str, str | None]]:
    r = await execute(resources, LOG, principal=who)
    assert r.errors is None, r.errors
    return [
        (n["provider"], n["status"], n["errorMessage"])
        for n in (e["node"] for e in r.data["aiGenerations"]["edges"])
    ]


async def _set_key(resources: Any, who: Any, base_url: str) -> None:
    r = await execute(resources, SET_KEY, {"p": "openai", "k": OWN_KEY, "u": base_url}, who)
    assert r.errors is None, r.errors


async def _script(resources: Any, who: Any) -> str:
    r = await execute(resources, SCRIPT, {"input": {"topic": "volcanoes", "targetDurationSeconds": 20}}, who)
    assert r.errors is None, r.errors
    return str(r.data["generateScript"]["title"])


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1/v1/chat/completions",
        "http://localhost/v1/chat/completions",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/v1/chat/completions",
    ],
)
async def test_a_redirect_from_an_own_endpoint_to_an_internal_address_is_not_followed(
    resources, session, net, provider, target, production_rules, location
):
    _, creator = await new_user(session, Role.CREATOR)
    net.answer("provider.test", [PUBLIC])
    net.route(PUBLIC, 80, provider)
    provider.on("POST", r"/chat/completions$", reply_redirect(location))
    await _set_key(resources, creator, "http://provider.test/v1")

    assert await _script(resources, creator) != TARGET_TITLE  # the offline writer took over
    assert len(provider.requests) == 1
    assert target.requests == []
    assert ("openai", "failed", UNREACHABLE) in await _log(resources, creator)


async def test_dns_rebinding_after_the_key_is_stored_is_refused_at_connect_time(
    resources, session, net, provider, target, production_rules
):
    _, creator = await new_user(session, Role.CREATOR)
    # The first lookup (setProviderKey's check) answers a public address, every later one loopback.
    net.answer("rebind.test", [PUBLIC], ["127.0.0.1"])
    net.route(PUBLIC, 80, provider)
    provider.on("POST", r"/chat/completions$", reply_json(openai_chat(json.dumps(script_payload()))))
    await _set_key(resources, creator, "http://rebind.test/v1")

    assert await _script(resources, creator) != TARGET_TITLE
    assert net.lookups == ["rebind.test", "rebind.test"]  # checked once at store, once at connect
    assert target.requests == [] and provider.requests == []
    assert ("127.0.0.1", 80) not in net.connects
    assert ("openai", "failed", ADDRESS_REFUSED) in await _log(resources, creator)


@pytest.mark.parametrize(
    "image_url",
    [
        "http://127.0.0.1/secret.png",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://other.test/picture.png",  # a public host, but not the provider's
        "https://provider.test/picture.png",  # another scheme (and port) on the provider's host
    ],
)
async def test_an_image_url_off_the_providers_own_origin_is_not_fetched(
    resources, session, net, provider, target, production_rules, image_url
):
    _, premium = await new_user(session, Role.PREMIUM)
    net.answer("provider.test", [PUBLIC])
    net.answer("other.test", [OTHER_PUBLIC])
    net.route(PUBLIC, 80, provider)
    net.route(PUBLIC, 443, target)
    net.route(OTHER_PUBLIC, 80, target)
    provider.on("POST", r"/images/generations$", reply_json({"created": 1, "data": [{"url": image_url}]}))
    await _set_key(resources, premium, "http://provider.test/v1")

    r = await execute(resources, IMAGE, {"input": {"prompt": "a fox", "width": 64, "height": 64}}, premium)
    assert r.errors is None, r.errors  # the procedural images took over
    assert target.requests == []
    assert [rec.path for rec in provider.requests] == ["/v1/images/generations"]
    assert ("openai", "failed", UNREACHABLE) in await _log(resources, premium)


async def test_an_image_on_the_providers_host_that_now_resolves_privately_is_not_fetched(
    resources, session, net, provider, target, production_rules
):
    _, premium = await new_user(session, Role.PREMIUM)
    # check at store time, the API call: public; the download's new connection: loopback
    net.answer("provider.test", [PUBLIC], [PUBLIC], ["127.0.0.1"])
    net.route(PUBLIC, 80, provider)
    answer = {"created": 1, "data": [{"url": "http://provider.test/files/picture.png"}]}
    provider.on("POST", r"/images/generations$", reply_json(answer, headers={"connection": "close"}))
    provider.on("GET", r"/files/", reply_bytes(png_bytes(64, 64)))
    await _set_key(resources, premium, "http://provider.test/v1")

    r = await execute(resources, IMAGE, {"input": {"prompt": "a fox", "width": 64, "height": 64}}, premium)
    assert r.errors is None, r.errors
    assert target.requests == [] and provider.calls(r"/files/") == []
    assert ("openai", "failed", ADDRESS_REFUSED) in await _log(resources, premium)


async def test_an_image_on_the_providers_own_origin_is_used(
    resources, session, net, provider, target, production_rules
):
    _, premium = await new_user(session, Role.PREMIUM)
    net.answer("provider.test", [PUBLIC])
    net.route(PUBLIC, 80, provider)
    answer = {"created": 1, "data": [{"url": "http://provider.test/files/picture.png"}]}
    provider.on("POST", r"/images/generations$", reply_json(answer))
    provider.on("GET", r"/files/picture.png$", reply_bytes(png_bytes(64, 64, (10, 200, 10))))
    await _set_key(resources, premium, "http://provider.test/v1")

    r = await execute(resources, IMAGE, {"input": {"prompt": "a fox", "width": 64, "height": 64}}, premium)
    assert r.errors is None, r.errors
    assert [p for p, status, _ in await _log(resources, premium) if status == "completed"] == ["openai"]
    assert len(provider.calls(r"/files/picture.png$")) == 1 and target.requests == []


# ------------------------------------------------------------------ the early check and ports


@pytest.mark.parametrize(
    "base_url",
    [
        "http://[::ffff:127.0.0.1]/v1",
        "http://[64:ff9b::7f00:1]/v1",
        "http://[64:ff9b::a9fe:a9fe]/v1",
        "http://[2002:7f00:1::]/v1",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/v1",
        "http://100.64.0.1/v1",
        "http://[fd00::1]/v1",
        "http://internal.test/v1",  # resolves to a private address
        "https://provider.test:8443/v1",  # public, but not on an allowed port
        "http://provider.test:6379/v1",
        "http://provider.test:99999/v1",
    ],
)
async def test_set_provider_key_refuses_blocked_addresses_and_ports(
    resources, session, net, production_rules, base_url
):
    _, creator = await new_user(session, Role.CREATOR)
    net.answer("provider.test", [PUBLIC])
    net.answer("internal.test", ["10.0.0.5"])
    r = await execute(resources, SET_KEY, {"p": "openai", "k": OWN_KEY, "u": base_url}, creator)
    assert codes(r) == ["BAD_USER_INPUT"], base_url
    assert r.errors[0].extensions["field"] == "baseUrl"


async def test_the_port_rule_also_holds_at_connect_time(
    resources, session, net, provider, target, production_rules
):
    _, creator = await new_user(session, Role.CREATOR)
    net.answer("provider.test", [PUBLIC])
    net.route(PUBLIC, 8080, provider)
    provider.on("POST", r"/chat/completions$", reply_json(openai_chat(json.dumps(script_payload()))))
    production_rules.outbound_allowed_ports = [80, 443, 8080]
    await _set_key(resources, creator, "http://provider.test:8080/v1")
    production_rules.outbound_allowed_ports = [80, 443]  # the operator narrows the ports later

    await _script(resources, creator)
    assert provider.requests == []
    assert ("openai", "failed", ADDRESS_REFUSED) in await _log(resources, creator)


# ------------------------------------------------------------------ no port scanner


@pytest.mark.parametrize(
    "answer",
    [
        reply_error(401, "bad key"),
        reply_error(404, "no such model"),
        reply_error(500, "internal detail on port 8443"),
        reply_error(503),
        reply_raw(b"<html>nginx 1.25 default page</html>", 200, "text/html"),
        reply_redirect("http://provider.test/elsewhere", 302),
        None,  # nothing listens: connection refused
    ],
)
async def test_own_endpoint_failures_all_read_the_same(
    resources, session, net, provider, target, production_rules, answer
):
    _, creator = await new_user(session, Role.CREATOR)
    net.answer("provider.test", [PUBLIC if answer is not None else OTHER_PUBLIC])  # OTHER_PUBLIC: unrouted
    net.route(PUBLIC, 80, provider)
    if answer is not None:
        provider.on("POST", r"/chat/completions$", answer)
    await _set_key(resources, creator, "http://provider.test/v1")

    await _script(resources, creator)
    failed = [(p, message) for p, status, message in await _log(resources, creator) if status == "failed"]
    assert failed == [("openai", UNREACHABLE)]
    assert not re.search(r"\d", UNREACHABLE)  # no status code, no port


def test_only_own_base_urls_get_opaque_errors():
    from providers.ai.opaque import OpaqueErrors
    from providers.ai.registry import make_own
    from runtime.settings import Settings

    settings = Settings(environment="test", _env_file=None)
    assert isinstance(make_own("text", "openai", settings, OWN_KEY, "https://provider.test/v1"), OpaqueErrors)
    official = make_own("text", "openai", settings, OWN_KEY, None)  # api.openai.com: its messages help
    assert official is not None and not isinstance(official, OpaqueErrors)


def test_production_defaults_are_public_addresses_on_ports_80_and_443():
    from runtime.settings import Settings

    prod = Settings(
        environment="production",
        secret_key="s" * 40,
        encryption_key="k" * 44,
        _env_file=None,
    )
    assert prod.private_provider_urls_allowed is False
    assert prod.outbound_ports == frozenset({80, 443})
    dev = Settings(environment="development", _env_file=None)
    assert dev.private_provider_urls_allowed is True and dev.outbound_ports is None
