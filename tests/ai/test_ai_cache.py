"""The result cache: identical calls are served from it (logged `cached`, no quota), others miss."""

from __future__ import annotations

from sqlalchemy import select

from domain.ai.service import AIService, Caller
from persistence.ai import AIGeneration
from persistence.enums import GenerationStatus, GenerationType, Role
from providers.ai.base import ImageRequest, ScriptRequest, SpeechRequest
from tests.ai.conftest import StubImages, StubSpeech, StubText, new_user, quota_used, stub_chains


async def _log(resources, user_id, kind):
    async with resources.sessionmaker() as s:
        rows = (
            await s.scalars(
                select(AIGeneration)
                .where(AIGeneration.user_id == user_id, AIGeneration.type == kind)
                .order_by(AIGeneration.created_at, AIGeneration.status)
            )
        ).all()
    return [(r.provider, r.status) for r in rows]


async def test_identical_script_calls_hit_the_cache(resources, session):
    user, _ = await new_user(session, Role.PREMIUM)
    stub = StubText()
    stub_chains(resources, text=stub)
    request = ScriptRequest(topic="why cats purr", target_seconds=30, language="en")

    first = await AIService.for_resources(resources).write_script(Caller(user.id), request)
    second = await AIService.for_resources(resources).write_script(Caller(user.id), request)
    assert stub.calls == 1
    assert second.script == first.script  # "Call 1" inside: not a fresh answer
    assert await quota_used(resources, user.id) == {"DAILY": 1, "MONTHLY": 1}
    log = await _log(resources, user.id, GenerationType.TEXT)
    assert sorted(log) == [("openai", GenerationStatus.CACHED), ("openai", GenerationStatus.COMPLETED)]

    other = ScriptRequest(topic="why cats purr", target_seconds=45, language="en")  # different parameters
    third = await AIService.for_resources(resources).write_script(Caller(user.id), other)
    assert stub.calls == 2 and third.script != first.script
    assert await quota_used(resources, user.id) == {"DAILY": 2, "MONTHLY": 2}


async def test_images_and_speech_are_cached_with_their_media(resources, session, tmp_path):
    user, _ = await new_user(session, Role.PREMIUM)
    images, speech = StubImages(), StubSpeech()
    stub_chains(resources, image=images, speech=speech)
    ai = AIService.for_resources(resources)

    req = ImageRequest(prompt="a lighthouse at dusk", width=96, height=64, seed="s")
    a = await ai.generate_image(Caller(user.id), req)
    b = await AIService.for_resources(resources).generate_image(Caller(user.id), req)
    assert (
        images.calls == 1 and b.data == a.data and (b.width, b.height, b.mime_type) == (96, 64, "image/png")
    )
    c = await ai.generate_image(
        Caller(user.id), ImageRequest(prompt="a lighthouse at dusk", width=96, height=64, seed="other")
    )
    assert images.calls == 2 and c.data != a.data

    sentences = ("Waves roll in.", "Gulls cry overhead.")
    one = await ai.synthesize(
        Caller(user.id), SpeechRequest(sentences=sentences, output_path=tmp_path / "1.wav")
    )
    two = await ai.synthesize(
        Caller(user.id), SpeechRequest(sentences=sentences, output_path=tmp_path / "2.wav")
    )
    assert speech.calls == 1
    assert two.path == tmp_path / "2.wav" and two.path.read_bytes() == (tmp_path / "1.wav").read_bytes()
    assert (
        two.sentences == one.sentences and two.duration == one.duration and two.sample_rate == one.sample_rate
    )
    await ai.synthesize(
        Caller(user.id), SpeechRequest(sentences=sentences, output_path=tmp_path / "3.wav", speed=1.2)
    )
    assert speech.calls == 2

    assert await quota_used(resources, user.id, GenerationType.IMAGE) == {"DAILY": 2, "MONTHLY": 2}
    assert await quota_used(resources, user.id, GenerationType.AUDIO) == {"DAILY": 2, "MONTHLY": 2}
    assert (await _log(resources, user.id, GenerationType.AUDIO)).count(
        ("elevenlabs", GenerationStatus.CACHED)
    ) == 1


async def test_paid_results_are_not_served_to_users_without_external_access(resources, session):
    premium, _ = await new_user(session, Role.PREMIUM)
    creator, _ = await new_user(session, Role.CREATOR)
    stub = StubText()
    stub_chains(resources, text=stub)
    request = ScriptRequest(topic="deep sea fish", target_seconds=30)
    paid = await AIService.for_resources(resources).write_script(Caller(premium.id), request)
    free = await AIService.for_resources(resources).write_script(Caller(creator.id), request)
    assert free.script != paid.script
    assert await _log(resources, creator.id, GenerationType.TEXT) == [("offline", GenerationStatus.COMPLETED)]
