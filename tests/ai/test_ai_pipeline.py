"""Done-when: a video made with nothing configured uses the offline providers; the same video with an
OpenAI-compatible endpoint configured uses it, and falls back to the offline providers when that
endpoint fails, all visible in aiGenerations."""

from __future__ import annotations

import json

import pytest

from persistence.enums import Role, VideoStatus
from persistence.video import VideoRepository
from runtime.bootstrap import make_storage
from runtime.events import start_events
from runtime.resources import build_resources
from runtime.settings import Settings
from schema.node import from_global_id
from tests.factories import make_user, principal_for
from tests.gql import execute
from tests.pipeline.conftest import drain
from tests.providers.external.ai_ext_fakes import (
    API_KEY,
    openai_chat,
    reply_error,
    reply_json,
    script_payload,
)

CREATE = "mutation($input: CreateVideoInput!) { createVideo(input: $input) { id } }"
LOG = """query($t: GenerationType) { aiGenerations(first: 50, type: $t) {
  edges { node { type provider status errorMessage tokensUsed video { id } } } } }"""
NARRATION = (
    "Octopuses have three hearts and blue blood in their bodies.",
    "They can change colour in a fraction of a second to hide.",
    "Each arm can taste what it touches on the sea floor.",
)


@pytest.fixture
async def openai_resources(tmp_path, e2e_database, services, redis_prefix, redis_client, fake):
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=e2e_database,
        redis_url=services[1],
        redis_prefix=redis_prefix,
        secret_key="p" * 40,
        render_preset="ultrafast",
        _env_file=None,
        openai_api_key=API_KEY,
        openai_base_url=fake.url + "/v1",
        ai_timeout_seconds=10,
        text_providers=["openai", "offline"],
        image_providers=["procedural"],
        speech_providers=["piper"],
    )
    res = await build_resources(settings)
    res.storage = make_storage(settings)
    await start_events(res)
    yield res
    await res.close()


async def _make_video(resources):
    async with resources.sessionmaker() as s, s.begin():
        user = await make_user(s, roles=(Role.PREMIUM,))
    who = principal_for(user, (Role.PREMIUM,))
    r = await execute(
        resources,
        CREATE,
        {
            "input": {
                "title": "Octopus",
                "prompt": "octopus facts",
                "targetDurationSeconds": 10,
                "aspectRatio": "SQUARE",
            }
        },
        who,
    )
    assert r.errors is None, r.errors
    _, vid = from_global_id(r.data["createVideo"]["id"])
    await drain(resources)
    async with resources.sessionmaker() as s:
        video = await VideoRepository(s).get(vid)
    r = await execute(resources, LOG, {"t": "TEXT"}, who)
    assert r.errors is None, r.errors
    rows = [e["node"] for e in reversed(r.data["aiGenerations"]["edges"])]  # oldest first
    return video, rows


@pytest.mark.slow
async def test_a_working_openai_endpoint_writes_the_script(openai_resources, fake):
    fake.on("POST", r"/chat/completions$", reply_json(openai_chat(json.dumps(script_payload(NARRATION)))))
    video, rows = await _make_video(openai_resources)
    assert video.status is VideoStatus.COMPLETED, video.processing_error
    assert [(r["provider"], r["status"]) for r in rows] == [("openai", "completed")]
    assert rows[0]["tokensUsed"] == 460
    assert video.script_content and "three hearts" in video.script_content
    assert len(fake.calls(r"/chat/completions$")) == 1


@pytest.mark.slow
async def test_a_failing_endpoint_falls_back_to_offline_and_the_video_completes(openai_resources, fake):
    fake.on("POST", r"/chat/completions$", reply_error(500, "upstream exploded"))
    video, rows = await _make_video(openai_resources)
    assert video.status is VideoStatus.COMPLETED, video.processing_error
    assert [(r["provider"], r["status"]) for r in rows] == [("openai", "failed"), ("offline", "completed")]
    assert rows[0]["errorMessage"] and "sk-test" not in rows[0]["errorMessage"]
    assert video.script_content and "three hearts" not in video.script_content
    assert len(fake.calls(r"/chat/completions$")) >= 1
