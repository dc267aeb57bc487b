"""cloneVoice: an uploaded sample becomes an ElevenLabs voice (real SDK against a local server)."""

from __future__ import annotations

import io
import json
import wave

import httpx
import pytest
from starlette.datastructures import Headers, UploadFile

from persistence.enums import Role
from tests.ai.conftest import new_user
from tests.gql import codes, execute
from tests.providers.external.ai_ext_fakes import reply_error, reply_json

CLONE = "mutation($n: String!, $s: Upload!) { cloneVoice(name: $n, sample: $s) { id name provider } }"
SET_KEY = (
    'mutation($k: String!, $u: String) { setProviderKey(provider: "elevenlabs", apiKey: $k, baseUrl: $u) '
    "{ provider } }"
)


def sample(data: bytes = b"RIFF....WAVEfmt " + b"\0" * 2000, ctype: str = "audio/wav") -> UploadFile:
    return UploadFile(io.BytesIO(data), filename="me.wav", headers=Headers({"content-type": ctype}))


async def test_clone_with_the_users_own_key(resources, session, fake):
    _, premium = await new_user(session, Role.PREMIUM)
    r = await execute(resources, SET_KEY, {"k": "xi-own-key-123456", "u": fake.url}, premium)
    assert r.errors is None, r.errors
    fake.on(
        "POST", r"/v1/voices/add$", reply_json({"voice_id": "v-cloned-1", "requires_verification": False})
    )
    r = await execute(resources, CLONE, {"n": "My voice", "s": sample()}, premium)
    assert r.errors is None, r.errors
    assert r.data["cloneVoice"]["id"] == "v-cloned-1" and r.data["cloneVoice"]["provider"] == "elevenlabs"
    [call] = fake.calls(r"/v1/voices/add$")
    assert b"My voice" in call.body and b"me.wav" in call.body  # the multipart upload reached the provider
    assert "xi-own-key-123456" in (call.headers.get("xi-api-key") or "")


async def test_refusals_have_codes(resources, session, fake):
    _, creator = await new_user(session, Role.CREATOR)
    assert codes(await execute(resources, CLONE, {"n": "x", "s": sample()}, creator)) == ["FORBIDDEN"]
    _, premium = await new_user(session, Role.PREMIUM)
    no_key = await execute(resources, CLONE, {"n": "x", "s": sample()}, premium)
    assert codes(no_key) == ["BAD_USER_INPUT"] and "ElevenLabs" in no_key.errors[0].message
    await execute(resources, SET_KEY, {"k": "xi-own-key-123456", "u": fake.url}, premium)
    not_audio = await execute(resources, CLONE, {"n": "x", "s": sample(b"%PDF", "application/pdf")}, premium)
    assert codes(not_audio) == ["BAD_USER_INPUT"]
    fake.on("POST", r"/v1/voices/add$", reply_error(422, "sample too short"))
    rejected = await execute(resources, CLONE, {"n": "x", "s": sample()}, premium)
    assert codes(rejected) == ["BAD_USER_INPUT"] and "could not clone" in rejected.errors[0].message


@pytest.mark.e2e
def test_multipart_uploads_reach_the_schema(live_api):
    """The GraphQL multipart request spec over real HTTP: signed in, the operation runs (a
    CREATOR may not clone: FORBIDDEN); signed out, the upload is refused (401 UNAUTHENTICATED)
    before any part is read."""
    from tests.security.helpers import sign_up

    form = {
        "operations": json.dumps({"query": CLONE, "variables": {"n": "x", "s": None}}),
        "map": '{"0": ["variables.s"]}',
    }
    files = {"0": ("me.wav", b"RIFF0000WAVE", "audio/wav")}
    r = httpx.post(live_api.graphql, data=form, files=files)
    assert r.status_code == 401, r.text
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    token = sign_up(live_api.graphql)
    r = httpx.post(live_api.graphql, data=form, files=files, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_sample_type_comes_from_its_bytes_not_its_label(resources, session, fake):
    """A PDF labelled audio/wav is refused before any provider call; a WAV labelled
    application/octet-stream is accepted and passed on as audio/wav."""
    _, premium = await new_user(session, Role.PREMIUM)
    await execute(resources, SET_KEY, {"k": "xi-own-key-123456", "u": fake.url}, premium)
    fake.on("POST", r"/v1/voices/add$", reply_json({"voice_id": "v-2", "requires_verification": False}))
    pdf = sample(b"%PDF-1.7\n" + b"x" * 2000, "audio/wav")
    refused = await execute(resources, CLONE, {"n": "x", "s": pdf}, premium)
    assert codes(refused) == ["BAD_USER_INPUT"] and "audio file" in refused.errors[0].message
    assert fake.calls(r"/v1/voices/add$") == []
    wav = io.BytesIO()
    with wave.open(wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 1600)
    unlabelled = sample(wav.getvalue(), "application/octet-stream")
    ok = await execute(resources, CLONE, {"n": "x", "s": unlabelled}, premium)
    assert ok.errors is None, ok.errors
    [call] = fake.calls(r"/v1/voices/add$")
    assert b"Content-Type: audio/wav" in call.body or b"content-type: audio/wav" in call.body.lower()
