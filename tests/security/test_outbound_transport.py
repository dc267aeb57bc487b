"""The checked transport (providers/net.py) on its own and inside every AI adapter: blocked address
classes and ports, one lookup per connection and the checked address pinned (DNS rebinding
fails), redirects off (and checked hop by hop if followed), TLS on the host name, and the
generated-image download rules (own origin only, size cap while streaming)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpcore
import httpcore2
import httpx
import httpx2
import pytest

from providers.ai.base import ImageRequest, ScriptRequest, SpeechRequest
from providers.ai.errors import ADDRESS_REFUSED, ProviderAddressRefusedError
from providers.net import OutboundPolicy, OutboundRefusedError, address_refusal, http_client
from tests.providers.external.ai_ext_fakes import API_KEY, FakeServer, png_bytes, reply_json
from tests.security.outbound_fakes import PUBLIC, Stream, reply_bytes, reply_redirect, start_fake, tls_files

BLOCKED = [
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.0.8",
    "192.0.2.10",
    "198.18.0.1",
    "192.88.99.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::101:101",  # NAT64 of a public address: the whole prefix is refused
    "64:ff9b:1::1",  # local-use NAT64
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:db8::1",
    "100::1",
]
PUBLIC_ADDRESSES = ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "2001:4860:4860::8888", "::ffff:1.1.1.1"]


@pytest.mark.parametrize("address", BLOCKED)
def test_blocked_address_classes(address: str) -> None:
    assert address_refusal(address) is not None


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(address) is None


class Network:
    """The network below the check: records where connections go; `routes` sends a public
    (address, port) to a local server instead (there is no internet here)."""

    def __init__(self, flavour: str = "httpx", routes: dict[tuple[str, int], int] | None = None) -> None:
        self.inner: Any = (httpcore2 if flavour == "httpx2" else httpcore).AnyIOBackend()
        self.routes = routes or {}
        self.calls: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, timeout: Any = None, **kw: Any) -> Any:
        self.calls.append((host, port))
        if (host, port) in self.routes:
            host, port = "127.0.0.1", self.routes[(host, port)]
        return await self.inner.connect_tcp(host, port, timeout=timeout, **kw)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class Resolver:
    """Answers in turn (the last one repeats) and counts lookups."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server, stop = start_fake()
    yield server
    stop()


@pytest.fixture
def target() -> Iterator[FakeServer]:
    """A server that stands for something internal: it must never get a request."""
    server, stop = start_fake()
    yield server
    stop()


@pytest.mark.parametrize("address", BLOCKED)
async def test_a_host_resolving_to_a_blocked_address_is_never_connected(address: str) -> None:
    network = Network()
    async with http_client(OutboundPolicy(ports=None, resolver=Resolver([address])), backend=network) as c:
        with pytest.raises(OutboundRefusedError):
            await c.get("http://somewhere.test/")
    assert network.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",  # 127.0.0.1 as one number: resolved by the system, then refused
        "http://0x7f.1/",
        "http://localhost/",
    ],
)
async def test_address_literals_and_their_disguises_are_refused(url: str) -> None:
    network = Network()
    async with http_client(OutboundPolicy(ports=None), backend=network) as c:
        with pytest.raises(OutboundRefusedError):
            await c.get(url)
    assert network.calls == []


async def test_one_refused_address_among_several_refuses_the_host() -> None:
    network = Network()
    policy = OutboundPolicy(ports=None, resolver=Resolver([PUBLIC, "10.0.0.7"]))
    async with http_client(policy, backend=network) as c:
        with pytest.raises(OutboundRefusedError):
            await c.get("http://mixed.test/")
    assert network.calls == []


async def test_ports_outside_the_policy_are_refused_before_any_lookup(fake: FakeServer) -> None:
    resolver = Resolver([PUBLIC])
    network = Network(routes={(PUBLIC, 80): fake.port})
    async with http_client(OutboundPolicy(resolver=resolver), backend=network) as c:
        for url in ("http://p.test:8080/", "https://p.test:22/", "http://p.test:6379/", "http://p.test:443/"):
            if url.endswith(":443/"):
                continue
            with pytest.raises(OutboundRefusedError):
                await c.get(url)
        assert resolver.calls == [] and network.calls == []
        assert (await c.get("http://p.test/ok")).status_code == 404  # port 80: allowed, reached
    assert network.calls == [(PUBLIC, 80)]


@pytest.mark.parametrize("flavour", ["httpx", "httpx2"])
async def test_the_checked_address_is_the_one_connected_and_the_name_stays_in_the_request(
    fake: FakeServer, flavour: Any
) -> None:
    resolver = Resolver(["127.0.0.1"])
    network = Network(flavour)
    policy = OutboundPolicy(allow_private=True, ports=None, resolver=resolver)
    async with http_client(policy, flavour=flavour, backend=network) as c:
        await c.get(f"http://pinned.test:{fake.port}/one")
        await c.get(f"http://pinned.test:{fake.port}/two")  # the same (kept-alive) connection
    assert resolver.calls == ["pinned.test"]
    assert network.calls == [("127.0.0.1", fake.port)]  # the address, never the name
    assert [r.headers["host"] for r in fake.requests] == [f"pinned.test:{fake.port}"] * 2


@pytest.mark.parametrize("flavour", ["httpx", "httpx2"])
async def test_dns_rebinding_between_connections_is_refused(
    fake: FakeServer, target: FakeServer, flavour: Any
) -> None:
    resolver = Resolver([PUBLIC], ["127.0.0.1"])  # public first, loopback afterwards
    network = Network(flavour, routes={(PUBLIC, 80): fake.port, ("127.0.0.1", 80): target.port})
    async with http_client(OutboundPolicy(resolver=resolver), flavour=flavour, backend=network) as c:
        first = await c.get("http://rebind.test/first", headers={"connection": "close"})
        assert first.status_code == 404  # reached the public host
        with pytest.raises(OutboundRefusedError):
            await c.get("http://rebind.test/second")
    assert resolver.calls == ["rebind.test", "rebind.test"]
    assert network.calls == [(PUBLIC, 80)]
    assert [r.path for r in fake.requests] == ["/first"] and target.requests == []


async def test_redirects_are_not_followed_and_a_followed_hop_is_checked(
    fake: FakeServer, target: FakeServer
) -> None:
    fake.on("GET", r"^/start$", reply_redirect(f"http://127.0.0.1:{target.port}/internal"))
    network = Network(routes={(PUBLIC, 80): fake.port})
    policy = OutboundPolicy(ports=None, resolver=Resolver([PUBLIC]))
    async with http_client(policy, backend=network) as c:
        assert (await c.get("http://provider.test/start")).status_code == 307
        with pytest.raises(OutboundRefusedError):  # a client asking to follow: each hop is checked
            await c.get("http://provider.test/start", follow_redirects=True)
    assert target.requests == []


async def test_tls_checks_the_certificate_against_the_host_name(tmp_path: Any) -> None:
    ca, cert, key = tls_files(tmp_path, "tls.test")
    fake, stop = start_fake(ssl_certfile=str(cert), ssl_keyfile=str(key))
    try:
        fake.on("GET", r"^/hello$", reply_json({"ok": True}))
        context = ssl.create_default_context(cafile=str(ca))
        network = Network()
        policy = OutboundPolicy(allow_private=True, ports=None, resolver=Resolver(["127.0.0.1"]))
        async with http_client(policy, verify=context, backend=network) as c:
            response = await c.get(f"https://tls.test:{fake.port}/hello")
            assert response.json() == {"ok": True}
            with pytest.raises(httpx.ConnectError):  # same address, a name the certificate lacks
                await c.get(f"https://other.test:{fake.port}/hello")
        assert network.calls == [("127.0.0.1", fake.port)] * 2
        assert fake.requests[0].headers["host"] == f"tls.test:{fake.port}"
        assert len(fake.requests) == 1
    finally:
        stop()


# ------------------------------------------------------------------ inside every adapter


def _adapters(tmp_path: Any) -> list[tuple[str, Any]]:
    from providers.ai.anthropic import ClaudeText
    from providers.ai.elevenlabs import ElevenLabsSpeech
    from providers.ai.gemini import GeminiImages, GeminiText
    from providers.ai.openai import OpenAIImages, OpenAISpeech, OpenAIText

    script = ScriptRequest(topic="volcanoes", target_seconds=20)
    image = ImageRequest(prompt="a fox", width=64, height=64)
    speech = SpeechRequest(sentences=("Hello there.",), output_path=tmp_path / "speech.wav")
    return [
        (
            "openai-text",
            lambda url, o: OpenAIText(API_KEY, base_url=url + "/v1", outbound=o).write_script(script),
        ),
        (
            "openai-image",
            lambda url, o: OpenAIImages(API_KEY, base_url=url + "/v1", outbound=o).generate_image(image),
        ),
        (
            "openai-speech",
            lambda url, o: OpenAISpeech(API_KEY, base_url=url + "/v1", outbound=o).synthesize(speech),
        ),
        ("anthropic", lambda url, o: ClaudeText(API_KEY, base_url=url, outbound=o).write_script(script)),
        ("gemini-text", lambda url, o: GeminiText(API_KEY, base_url=url, outbound=o).write_script(script)),
        (
            "gemini-image",
            lambda url, o: GeminiImages(API_KEY, base_url=url, outbound=o).generate_image(image),
        ),
        (
            "elevenlabs",
            lambda url, o: ElevenLabsSpeech(API_KEY, base_url=url, outbound=o).synthesize(speech),
        ),
        (
            "elevenlabs-voices",
            lambda url, o: ElevenLabsSpeech(API_KEY, base_url=url, outbound=o).list_voices(),
        ),
    ]


ADAPTERS = [
    "openai-text",
    "openai-image",
    "openai-speech",
    "anthropic",
    "gemini-text",
    "gemini-image",
    "elevenlabs",
    "elevenlabs-voices",
]


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_every_adapter_connects_through_the_policy(
    adapter: str, fake: FakeServer, tmp_path: Any
) -> None:
    call = dict(_adapters(tmp_path))[adapter]
    with pytest.raises(ProviderAddressRefusedError) as caught:
        await call(fake.url, OutboundPolicy(ports=None))  # 127.0.0.1 under the public-only rule
    assert caught.value.message == ADDRESS_REFUSED
    assert fake.requests == []


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_no_adapter_follows_a_redirect(
    adapter: str, fake: FakeServer, target: FakeServer, tmp_path: Any
) -> None:
    for method in ("GET", "POST"):
        fake.on(method, r".*", reply_redirect(f"{target.url}/elsewhere"))
    call = dict(_adapters(tmp_path))[adapter]
    with pytest.raises(Exception):  # noqa: B017 - any provider failure; what matters is below
        await call(fake.url, OutboundPolicy(allow_private=True, ports=None))
    assert len(fake.requests) >= 1 and target.requests == []


# ------------------------------------------------------------------ generated images


def _image_answer(url: str) -> Any:
    return reply_json({"created": 1, "data": [{"url": url}]})


async def _generate(base: str, outbound: OutboundPolicy | None = None) -> Any:
    from providers.ai.openai import OpenAIImages

    provider = OpenAIImages(API_KEY, base_url=base + "/v1", model="local-sd", timeout=20, outbound=outbound)
    try:
        return await provider.generate_image(ImageRequest(prompt="a fox", width=64, height=48))
    finally:
        await provider.aclose()


@pytest.mark.parametrize("outbound", [None, OutboundPolicy(allow_private=True, ports=None)])
async def test_an_image_on_the_providers_own_origin_is_downloaded(
    fake: FakeServer, outbound: OutboundPolicy | None
) -> None:
    fake.on("POST", r"/images/generations$", _image_answer(f"{fake.url}/files/fox.png"))
    fake.on("GET", r"^/files/fox.png$", reply_bytes(png_bytes(64, 48)))
    result = await _generate(fake.url, outbound)
    assert (result.width, result.height) == (64, 48)
    assert [r.path for r in fake.calls(r"/files/")] == ["/files/fox.png"]


@pytest.mark.parametrize("outbound", [None, OutboundPolicy(allow_private=True, ports=None)])
@pytest.mark.parametrize(
    "where",
    [
        "http://127.0.0.1:{port}/x.png",
        "http://localhost:{port}/x.png",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_an_image_url_on_another_host_is_not_downloaded(
    fake: FakeServer, target: FakeServer, where: str, outbound: OutboundPolicy | None
) -> None:
    from providers.ai.base import MalformedResponseError

    target.on("GET", r".*", reply_bytes(png_bytes(64, 48)))
    fake.on("POST", r"/images/generations$", _image_answer(where.format(port=target.port)))
    with pytest.raises(MalformedResponseError, match="not on its own host"):
        await _generate(fake.url, outbound)
    assert target.requests == []


@pytest.mark.parametrize("declared", [False, True])
async def test_an_oversized_image_is_refused_while_streaming(fake: FakeServer, declared: bool) -> None:
    from providers.ai.base import MalformedResponseError
    from providers.ai.openai import MAX_IMAGE_BYTES

    stream = Stream(total=256 * 1024 * 1024)
    fake.on("POST", r"/images/generations$", _image_answer(f"{fake.url}/files/huge.png"))
    fake.on("GET", r"^/files/huge.png$", stream.responder(declare_length=declared))
    with pytest.raises(MalformedResponseError, match="larger than"):
        await _generate(fake.url, OutboundPolicy(allow_private=True, ports=None))
    # Reading stopped at the cap (plus what sat in socket buffers), far from the whole body.
    limit = 16 * 1024 * 1024 if declared else MAX_IMAGE_BYTES + 16 * 1024 * 1024
    assert stream.produced <= limit, stream.produced


def test_the_sync_client_an_sdk_insists_on_connects_nowhere() -> None:
    from providers.net import refusing_sync_client

    for flavour in ("httpx", "httpx2"):
        with refusing_sync_client(flavour) as client, pytest.raises(OutboundRefusedError):
            client.get("http://1.1.1.1/")


def test_httpx2_is_what_the_sdks_take() -> None:
    assert issubclass(type(http_client(OutboundPolicy(), flavour="httpx2")), httpx2.AsyncClient)
