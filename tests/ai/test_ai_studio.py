"""Studio generations through the schema, voices, provider health, own provider keys."""

from __future__ import annotations

import json

from sqlalchemy import select

from persistence.ai import ProviderCredential
from persistence.enums import Role
from providers.ai.breaker import BreakerState
from tests.ai.conftest import StubText, new_user, quota_used, stub_chains
from tests.gql import codes, execute
from tests.providers.external.ai_ext_fakes import openai_chat, reply_error, reply_json, script_payload

SCRIPT = """mutation($input: GenerateScriptInput!) {
  generateScript(input: $input) { title language scenes { narration visual keywords heading }
                                  seo { title description keywords } } }"""
IMAGE = "mutation($input: GenerateImageInput!) { generateImage(input: $input) { url width height } }"
SPEECH = """mutation($input: SynthesizeSpeechInput!) {
  synthesizeSpeech(input: $input) { url duration sentences { start end text } } }"""
LOG = "{ aiGenerations(first: 20) { edges { node { type provider status resultUrl } } } }"


async def test_generate_script_for_a_creator_uses_the_offline_writer(resources, session):
    _, who = await new_user(session, Role.CREATOR)
    r = await execute(
        resources, SCRIPT, {"input": {"topic": "How volcanoes form", "targetDurationSeconds": 30}}, who
    )
    assert r.errors is None, r.errors
    script = r.data["generateScript"]
    assert (
        script["title"] and script["scenes"] and all(s["narration"] and s["visual"] for s in script["scenes"])
    )
    assert script["seo"]["title"]
    r = await execute(resources, LOG, principal=who)
    assert [e["node"]["provider"] for e in r.data["aiGenerations"]["edges"]] == ["offline"]

    r = await execute(resources, SCRIPT, {"input": {"topic": "x", "targetDurationSeconds": 5}}, who)
    assert codes(r) == ["BAD_USER_INPUT"]


async def test_generate_image_needs_premium_and_stores_the_picture(resources, session):
    _, creator = await new_user(session, Role.CREATOR)
    user, premium = await new_user(session, Role.PREMIUM)
    variables = {"input": {"prompt": "a red fox in snow", "width": 320, "height": 240}}
    r = await execute(resources, IMAGE, variables, creator)
    assert codes(r) == ["FORBIDDEN"]

    r = await execute(resources, IMAGE, variables, premium)
    assert r.errors is None, r.errors
    assert r.data["generateImage"]["width"] == 320 and r.data["generateImage"]["height"] == 240
    url = r.data["generateImage"]["url"]
    assert f"generations/{user.id}/" in url
    storage = resources.storage
    key = url.split("?")[0].split(f"generations/{user.id}/")[1]
    data = await storage.get_bytes(f"generations/{user.id}/{key}")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    r = await execute(resources, LOG, principal=premium)
    node = r.data["aiGenerations"]["edges"][0]["node"]
    assert node["type"] == "IMAGE" and node["provider"] == "procedural" and node["resultUrl"]

    r = await execute(resources, IMAGE, {"input": {"prompt": "x", "width": 320}}, premium)
    assert codes(r) == ["BAD_USER_INPUT"]


async def test_synthesize_speech_and_voices(resources, session):
    user, premium = await new_user(session, Role.PREMIUM)
    r = await execute(resources, "{ voices { id provider language } }", principal=premium)
    assert r.errors is None, r.errors
    assert {"id": "piper:en_US-joe-medium", "provider": "piper", "language": "en_US"} in r.data[
        "voices"
    ] or any(v["id"] == "piper:en_US-joe-medium" for v in r.data["voices"])

    r = await execute(
        resources,
        SPEECH,
        {"input": {"text": "The tide comes in. Then it goes out again.", "voice": "piper:en_US-joe-medium"}},
        premium,
    )
    assert r.errors is None, r.errors
    speech = r.data["synthesizeSpeech"]
    assert [s["text"] for s in speech["sentences"]] == ["The tide comes in.", "Then it goes out again."]
    assert 0 < speech["sentences"][0]["end"] <= speech["sentences"][1]["start"] < speech["duration"] + 0.01
    assert f"generations/{user.id}/" in speech["url"] and ".wav" in speech["url"]

    _, creator = await new_user(session, Role.CREATOR)
    r = await execute(resources, SPEECH, {"input": {"text": "Hello."}}, creator)
    assert codes(r) == ["FORBIDDEN"]


HEALTH = "{ aiProviderHealth { kind provider model state consecutiveFailures openedAt lastError } }"


async def test_provider_health_for_admins(resources, session):
    _, admin = await new_user(session, Role.ADMIN)
    _, root = await new_user(session, Role.SUPER_ADMIN)
    chains = stub_chains(resources, text=StubText())
    for _ in range(3):
        chains.text.breakers["openai"].record_failure("HTTP 500 from upstream")
    assert codes(await execute(resources, HEALTH, principal=admin)) == ["FORBIDDEN"]
    r = await execute(resources, HEALTH, principal=root)
    assert r.errors is None, r.errors
    rows = {(h["kind"], h["provider"]): h for h in r.data["aiProviderHealth"]}
    assert set(rows) == {
        ("text", "openai"),
        ("text", "offline"),
        ("image", "procedural"),
        ("speech", "piper"),
    }
    openai = rows[("text", "openai")]
    assert openai["state"] == BreakerState.OPEN.value and openai["consecutiveFailures"] == 3
    assert openai["lastError"] == "HTTP 500 from upstream" and openai["openedAt"]
    assert rows[("text", "offline")]["state"] == "closed" and rows[("text", "offline")]["openedAt"] is None


KEYS = "{ providerKeys { provider baseUrl createdAt } }"
SET_KEY = """mutation($p: String!, $k: String!, $u: String) {
  setProviderKey(provider: $p, apiKey: $k, baseUrl: $u) { provider baseUrl createdAt } }"""


async def test_own_key_is_used_for_that_users_calls_and_never_returned(resources, session, fake):
    user, creator = await new_user(session, Role.CREATOR)
    own_key = "sk-own-user-key-0123456789"
    payload = script_payload(
        ("Own key scene one has words.", "Own key scene two has words."), title="Own Key"
    )
    fake.on("POST", r"/chat/completions$", reply_json(openai_chat(json.dumps(payload))))

    r = await execute(resources, SET_KEY, {"p": "openai", "k": own_key, "u": fake.url + "/v1"}, creator)
    assert r.errors is None, r.errors
    assert r.data["setProviderKey"]["provider"] == "openai"
    r = await execute(resources, KEYS, principal=creator)
    assert r.data["providerKeys"] == [
        {
            "provider": "openai",
            "baseUrl": fake.url + "/v1",
            "createdAt": r.data["providerKeys"][0]["createdAt"],
        }
    ]
    async with resources.sessionmaker() as s:
        stored = (
            await s.scalars(select(ProviderCredential).where(ProviderCredential.user_id == user.id))
        ).one()
    assert own_key.encode() not in stored.encrypted_key

    r = await execute(
        resources, SCRIPT, {"input": {"topic": "own keys", "targetDurationSeconds": 20}}, creator
    )
    assert r.errors is None, r.errors
    assert r.data["generateScript"]["title"] == "Own Key"
    assert fake.calls(r"/chat/completions$")[0].headers["authorization"] == f"Bearer {own_key}"
    assert await quota_used(resources, user.id) == {}  # the user's own key is not metered

    # a failing own endpoint falls back to the offline writer
    fake.reset()
    fake.on("POST", r"/chat/completions$", reply_error(500))
    r = await execute(
        resources, SCRIPT, {"input": {"topic": "own keys 2", "targetDurationSeconds": 20}}, creator
    )
    assert r.errors is None and r.data["generateScript"]["title"] != "Own Key"
    r = await execute(resources, LOG, principal=creator)
    log = [(e["node"]["provider"], e["node"]["status"]) for e in r.data["aiGenerations"]["edges"]]
    assert sorted(log) == [("offline", "completed"), ("openai", "completed"), ("openai", "failed")]

    bad = await execute(resources, SET_KEY, {"p": "myspace", "k": own_key}, creator)
    assert codes(bad) == ["BAD_USER_INPUT"]
    bad = await execute(resources, SET_KEY, {"p": "openai", "k": own_key, "u": "file:///etc/passwd"}, creator)
    assert codes(bad) == ["BAD_USER_INPUT"]

    r = await execute(resources, 'mutation { deleteProviderKey(provider: "openai") }', principal=creator)
    assert r.data == {"deleteProviderKey": True}
    assert (await execute(resources, KEYS, principal=creator)).data == {"providerKeys": []}
    fake.reset()
    r = await execute(resources, SCRIPT, {"input": {"topic": "no key", "targetDurationSeconds": 20}}, creator)
    assert r.errors is None and fake.requests == []


def test_the_key_is_not_part_of_the_schema():
    from graphql import GraphQLObjectType

    from resolvers.root import schema

    key_type = schema._schema.get_type("ProviderKey")
    assert isinstance(key_type, GraphQLObjectType)
    assert set(key_type.fields) == {"provider", "baseUrl", "createdAt"}


async def test_own_base_url_must_be_public_when_private_addresses_are_not_allowed(resources, session):
    _user, creator = await new_user(session, Role.CREATOR)
    resources.settings.allow_private_provider_urls = False
    try:
        for url in (
            "http://127.0.0.1:11434/v1",
            "http://10.1.2.3/v1",
            "http://localhost/v1",
            "http://169.254.169.254/latest",
            "http://[::1]/v1",
            "http://no-such-host.invalid/v1",
        ):
            r = await execute(resources, SET_KEY, {"p": "openai", "k": "sk-abcdefgh123", "u": url}, creator)
            assert codes(r) == ["BAD_USER_INPUT"], url
            assert r.errors[0].extensions["field"] == "baseUrl"
        r = await execute(
            resources, SET_KEY, {"p": "openai", "k": "sk-abcdefgh123", "u": "https://1.1.1.1/v1"}, creator
        )
        assert r.errors is None, r.errors  # a public address literal needs no DNS
    finally:
        resources.settings.allow_private_provider_urls = None
