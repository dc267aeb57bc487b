"""One set of rules for every entry point that takes a video's settings: createVideo,
regenerateVideo, retryVideo and generateScript refuse the same input the same way, and store
nothing when they do."""

from __future__ import annotations

import pytest

from persistence.enums import Role, VideoStatus
from persistence.video import VideoRepository
from schema.node import to_global_id
from tests.factories import make_user, make_video, principal_for
from tests.gql import codes, execute

CREATE = "mutation($input: CreateVideoInput!) { createVideo(input: $input) { id } }"
REGENERATE = "mutation($i: RegenerateVideoInput!) { regenerateVideo(input: $i) { id status voice } }"
RETRY = "mutation($id: ID!) { retryVideo(id: $id) { id status } }"
SCRIPT = "mutation($input: GenerateScriptInput!) { generateScript(input: $input) { title } }"
HUGE = "Dr. Smith e.g. vs. U.S. " * (200_000 // 24)  # 200,000 characters, hard on a sentence splitter


async def _owner_and_video(resources, status=VideoStatus.COMPLETED, **kw):
    async with resources.sessionmaker() as s, s.begin():
        owner = await make_user(s, roles=(Role.CREATOR,))
        video = await make_video(s, owner, status=status, **kw)
    return owner, video


async def _video(resources, video_id):
    async with resources.sessionmaker() as s:
        return await VideoRepository(s).get(video_id)


def _field(result) -> str | None:
    return result.errors[0].extensions.get("field") if result.errors else None


async def test_an_oversized_script_is_refused_by_create_regenerate_and_generate_script(live_resources):
    owner, video = await _owner_and_video(live_resources)
    who = principal_for(owner)
    created = await execute(
        live_resources, CREATE, {"input": {"title": "t", "prompt": "p", "script": HUGE}}, who
    )
    assert codes(created) == ["BAD_USER_INPUT"] and _field(created) == "script"
    gid = to_global_id("Video", video.id)
    regenerated = await execute(live_resources, REGENERATE, {"i": {"id": gid, "script": HUGE}}, who)
    assert codes(regenerated) == ["BAD_USER_INPUT"] and _field(regenerated) == "script"
    studio = await execute(live_resources, SCRIPT, {"input": {"topic": "t", "script": HUGE}}, who)
    assert codes(studio) == ["BAD_USER_INPUT"] and _field(studio) == "script"
    after = await _video(live_resources, video.id)
    assert (
        after.status is VideoStatus.COMPLETED and after.script_content is None and after.processing_run == 0
    )
    assert await live_resources.arq.queued_jobs(queue_name=live_resources.queue_name) == []


async def test_the_script_limit_is_the_same_everywhere(live_resources):
    from domain.video_input import MAX_SCRIPT

    owner, video = await _owner_and_video(live_resources)
    who = principal_for(owner)
    over, at = "word " * (MAX_SCRIPT // 5) + "x", ("word " * (MAX_SCRIPT // 5)).strip()
    assert len(over.strip()) == MAX_SCRIPT + 1 and len(at) < MAX_SCRIPT
    gid = to_global_id("Video", video.id)
    for query, variables in (
        (CREATE, {"input": {"title": "t", "prompt": "p", "script": over}}),
        (REGENERATE, {"i": {"id": gid, "script": over}}),
        (SCRIPT, {"input": {"topic": "t", "script": over}}),
    ):
        r = await execute(live_resources, query, variables, who)
        assert codes(r) == ["BAD_USER_INPUT"] and _field(r) == "script", query
    r = await execute(live_resources, REGENERATE, {"i": {"id": gid, "script": at}}, who)
    assert r.errors is None, r.errors
    after = await _video(live_resources, video.id)
    assert after.script_content == at and after.script_provided and after.status is VideoStatus.PENDING


async def test_regenerate_checks_the_voice_as_create_does(live_resources):
    owner, video = await _owner_and_video(live_resources, voice="piper:en_US-joe-medium")
    who = principal_for(owner)
    gid = to_global_id("Video", video.id)
    r = await execute(live_resources, REGENERATE, {"i": {"id": gid, "voice": "no-such-voice"}}, who)
    assert codes(r) == ["BAD_USER_INPUT"] and _field(r) == "voice"
    assert (await _video(live_resources, video.id)).voice == "piper:en_US-joe-medium"
    r = await execute(live_resources, REGENERATE, {"i": {"id": gid, "voice": "default"}}, who)
    assert r.errors is None, r.errors
    assert (await _video(live_resources, video.id)).voice is None  # back to the default voice


@pytest.mark.parametrize("how", ["regenerate", "retry"])
async def test_restarting_counts_against_the_videos_in_flight(live_resources, how):
    live_resources.settings.max_videos_in_flight = 1
    status = VideoStatus.COMPLETED if how == "regenerate" else VideoStatus.FAILED
    owner, video = await _owner_and_video(live_resources, status=status)
    async with live_resources.sessionmaker() as s, s.begin():
        await make_video(s, owner, status=VideoStatus.PROCESSING)
    gid = to_global_id("Video", video.id)
    query, variables = (REGENERATE, {"i": {"id": gid}}) if how == "regenerate" else (RETRY, {"id": gid})
    r = await execute(live_resources, query, variables, principal_for(owner))
    assert codes(r) == ["THROTTLED"], r.errors
    assert (await _video(live_resources, video.id)).status is status


async def test_synthesize_speech_checks_the_voice_as_create_does(live_resources):
    owner, _ = await _owner_and_video(live_resources)
    speech = "mutation($input: SynthesizeSpeechInput!) { synthesizeSpeech(input: $input) { duration } }"
    r = await execute(
        live_resources,
        speech,
        {"input": {"text": "Hello there.", "voice": "no-such-voice"}},
        principal_for(owner, (Role.PREMIUM,)),
    )
    assert codes(r) == ["BAD_USER_INPUT"] and _field(r) == "voice"
