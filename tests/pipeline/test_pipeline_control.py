"""Cancel, retry and resume, in-process, with stand-in providers that are slow or broken."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from domain.ai.chains import AIChains
from persistence.enums import PipelineStage, Role, StageStatus, VideoStatus
from persistence.video import VideoRepository
from providers.ai.base import ImageRequest, ImageResult, PermanentProviderError, SpeechRequest, Voice
from providers.ai.chain import FallbackChain
from providers.ai.registry import build_image_providers, build_speech_providers, build_text_providers
from schema.node import from_global_id
from tests.factories import make_user, principal_for
from tests.gql import codes, execute
from tests.pipeline.conftest import drain

CREATE = "mutation($input: CreateVideoInput!) { createVideo(input: $input) { id } }"
SCRIPT = "One small sentence here. Another one follows it. And a third to finish."


class DelayedImages:
    """Takes its time, so a test can act while VISUALS runs; then answers with a real picture,
    or (`answers=False`) fails as a provider that never finishes in time."""

    name = "delayed-images"

    def __init__(self, seconds: float, *, answers: bool = True) -> None:
        self.seconds = seconds
        self.answers = answers
        self.calls = 0

    async def generate_image(self, request: ImageRequest) -> ImageResult:
        from providers.ai.offline import ProceduralImages

        self.calls += 1
        await asyncio.sleep(self.seconds)
        if not self.answers:
            raise PermanentProviderError(self.name, "never finishes in time")
        return await ProceduralImages().generate_image(request)


class BrokenSpeech:
    name = "broken-speech"

    async def synthesize(self, request: SpeechRequest):
        raise PermanentProviderError(self.name, "the voice service rejected the request")

    async def list_voices(self) -> list[Voice]:
        return []


def chains(settings, *, images=None, speech=None) -> AIChains:
    return AIChains(
        text=FallbackChain("text", build_text_providers(settings), metrics=False),
        image=FallbackChain("image", images or build_image_providers(settings), metrics=False),
        speech=FallbackChain("speech", speech or build_speech_providers(settings), metrics=False),
    )


async def premium_owner(resources):
    """The stand-in providers play external ones, which only PREMIUM users get."""
    async with resources.sessionmaker() as s, s.begin():
        return await make_user(s, roles=(Role.PREMIUM,))


async def create(resources, owner) -> str:
    r = await execute(
        resources,
        CREATE,
        {
            "input": {
                "title": "Control",
                "prompt": "x",
                "script": SCRIPT,
                "targetDurationSeconds": 10,
                "aspectRatio": "SQUARE",
            }
        },
        principal_for(owner, (Role.PREMIUM,)),
    )
    assert r.errors is None, r.errors
    return str(r.data["createVideo"]["id"])


async def state(resources, gid: str):
    _, vid = from_global_id(gid)
    async with resources.sessionmaker() as s:
        repo = VideoRepository(s)
        return await repo.get(vid), (await repo.stage_runs([vid]))[vid]


@pytest.mark.slow
async def test_cancel_during_visuals_stops_the_running_stage(live_resources):
    owner = await premium_owner(live_resources)
    slow = DelayedImages(seconds=60, answers=False)
    live_resources.ai_chains = chains(live_resources.settings, images=[slow])
    gid = await create(live_resources, owner)
    worker = asyncio.create_task(drain(live_resources))
    for _ in range(300):
        video, _ = await state(live_resources, gid)
        if video.current_stage is PipelineStage.VISUALS and slow.calls:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("VISUALS never started")
    r = await execute(
        live_resources,
        "mutation($id: ID!) { cancelVideo(id: $id) { status } }",
        {"id": gid},
        principal_for(owner, (Role.PREMIUM,)),
    )
    assert r.errors is None and r.data["cancelVideo"]["status"] == "CANCELLED"
    await asyncio.wait_for(worker, 20)  # the 60 s provider call was aborted, not waited for
    video, runs = await state(live_resources, gid)
    assert video.status is VideoStatus.CANCELLED
    assert {r.stage for r in runs} == {PipelineStage.SCRIPT, PipelineStage.NARRATION, PipelineStage.VISUALS}
    visuals = next(r for r in runs if r.stage is PipelineStage.VISUALS)
    assert visuals.status is StageStatus.FAILED and visuals.error_message == "Cancelled."
    again = await execute(
        live_resources,
        "mutation($id: ID!) { cancelVideo(id: $id) { status } }",
        {"id": gid},
        principal_for(owner, (Role.PREMIUM,)),
    )
    assert codes(again) == ["CONFLICT"]


@pytest.mark.slow
async def test_failed_stage_then_retry_resumes_there(live_resources, tmp_path: Path):
    owner = await premium_owner(live_resources)
    live_resources.ai_chains = chains(live_resources.settings, speech=[BrokenSpeech()])
    gid = await create(live_resources, owner)
    await drain(live_resources)
    video, runs = await state(live_resources, gid)
    assert video.status is VideoStatus.FAILED and video.failed_stage is PipelineStage.NARRATION
    assert "broken-speech" in video.processing_error and "rejected" in video.processing_error
    q = "query($id: ID!) { video(id: $id) { status processingError stages { stage status errorMessage } } }"
    seen = (await execute(live_resources, q, {"id": gid}, principal_for(owner, (Role.PREMIUM,)))).data[
        "video"
    ]
    narration = next(s for s in seen["stages"] if s["stage"] == "NARRATION")
    assert narration["status"] == "FAILED" and narration["errorMessage"]

    live_resources.ai_chains = chains(live_resources.settings)
    r = await execute(
        live_resources,
        "mutation($id: ID!) { retryVideo(id: $id) { status processingProgress } }",
        {"id": gid},
        principal_for(owner, (Role.PREMIUM,)),
    )
    assert r.errors is None and r.data["retryVideo"]["status"] == "PENDING"
    assert r.data["retryVideo"]["processingProgress"] == 10  # SCRIPT's share, reused
    await drain(live_resources)
    video, runs = await state(live_resources, gid)
    assert video.status is VideoStatus.COMPLETED and video.processing_run == 2
    script = next(r for r in runs if r.stage is PipelineStage.SCRIPT)
    assert script.status is StageStatus.COMPLETED and script.attempts == 0  # reused, not re-run
    not_again = await execute(
        live_resources,
        "mutation($id: ID!) { retryVideo(id: $id) { status } }",
        {"id": gid},
        principal_for(owner, (Role.PREMIUM,)),
    )
    assert codes(not_again) == ["CONFLICT"]


@pytest.mark.slow
async def test_regenerate_adds_a_version_and_keeps_the_old_file(live_resources):
    owner = await premium_owner(live_resources)
    gid = await create(live_resources, owner)
    await drain(live_resources)
    first, _ = await state(live_resources, gid)
    assert first.status is VideoStatus.COMPLETED
    r = await execute(
        live_resources,
        """mutation($i: RegenerateVideoInput!) { regenerateVideo(input: $i) { status } }""",
        {"i": {"id": gid, "aspectRatio": "LANDSCAPE"}},
        principal_for(owner, (Role.PREMIUM,)),
    )
    assert r.errors is None, r.errors
    await drain(live_resources)
    video, _ = await state(live_resources, gid)
    assert video.status is VideoStatus.COMPLETED and video.resolution == "1920x1080"
    q = "query($id: ID!) { video(id: $id) { versions { version fileUrl changes } } }"
    versions = (await execute(live_resources, q, {"id": gid}, principal_for(owner, (Role.PREMIUM,)))).data[
        "video"
    ]["versions"]
    assert [v["version"] for v in versions] == [1, 2] and "aspect ratio" in versions[1]["changes"]
    storage = live_resources.storage
    assert storage.path_of(first.file_key).exists() and video.file_key != first.file_key


async def test_progress_stream_starts_from_the_stored_state_and_ends_on_terminal(live_resources):
    from domain.progress_stream import progress_stream

    owner = await premium_owner(live_resources)
    gid = await create(live_resources, owner)
    _, vid = from_global_id(gid)
    video_principal = principal_for(owner, (Role.PREMIUM,))
    got = []

    async def listen() -> None:
        async for event in progress_stream(live_resources, video_principal, vid):
            got.append(event)

    task = asyncio.create_task(listen())
    await asyncio.sleep(0.3)
    await execute(
        live_resources, "mutation($id: ID!) { cancelVideo(id: $id) { status } }", {"id": gid}, video_principal
    )
    await asyncio.wait_for(task, 10)
    assert [e.status for e in got] == [VideoStatus.PENDING, VideoStatus.CANCELLED]


async def test_my_video_events_streams_only_my_videos(live_resources):
    from graphql_runtime.context import Context
    from resolvers.root import schema

    mine, other = await premium_owner(live_resources), await premium_owner(live_resources)
    ctx = Context(resources=live_resources, principal=principal_for(mine, (Role.PREMIUM,)))
    feed = await schema.subscribe("subscription { myVideoEvents { videoId status } }", context_value=ctx)
    got: list[dict] = []

    async def read() -> None:
        async for result in feed:
            assert result.errors is None, result.errors
            assert result.data is not None
            got.append(result.data["myVideoEvents"])
            if result.data["myVideoEvents"]["status"] == "CANCELLED":
                return

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.3)
    theirs = await create(live_resources, other)
    gid = await create(live_resources, mine)
    cancel = "mutation($id: ID!) { cancelVideo(id: $id) { status } }"
    await execute(live_resources, cancel, {"id": theirs}, principal_for(other, (Role.PREMIUM,)))
    await execute(live_resources, cancel, {"id": gid}, principal_for(mine, (Role.PREMIUM,)))
    await asyncio.wait_for(reader, 10)
    await feed.aclose()
    assert {e["videoId"] for e in got} == {gid}
    assert [e["status"] for e in got] == ["PENDING", "CANCELLED"]


@pytest.mark.slow
async def test_deleting_a_video_mid_stage_leaves_no_files(live_resources):
    owner = await premium_owner(live_resources)
    late = DelayedImages(seconds=0.1)
    live_resources.ai_chains = chains(live_resources.settings, images=[late])
    gid = await create(live_resources, owner)
    _, vid = from_global_id(gid)
    worker = asyncio.create_task(drain(live_resources))
    for _ in range(300):
        if late.calls:
            break
        await asyncio.sleep(0.05)
    r = await execute(live_resources, "mutation($id: ID!) { deleteVideo(id: $id) }", {"id": gid},
                      principal_for(owner, (Role.PREMIUM,)))  # fmt: skip
    assert r.errors is None and r.data["deleteVideo"] is True
    await asyncio.wait_for(worker, 30)
    await asyncio.sleep(0.2)
    folder = live_resources.storage.path_of(f"videos/{vid}")
    leftovers = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    assert leftovers == []
