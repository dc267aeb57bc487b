"""The studio: standalone generations (a script, an image, a narration) outside a video."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain import video_input as video_rules
from domain.ai.service import AIService, Caller
from domain.ai.voices import voice_ids
from domain.errors import BadInput
from providers.ai.base import (
    ImageRequest,
    ImageResult,
    ScriptRequest,
    ScriptResult,
    SpeechRequest,
    SpeechResult,
)

if TYPE_CHECKING:
    from domain.identity import Principal
    from runtime.resources import Resources


MAX_IMAGE_PROMPT, MAX_SPEECH_TEXT = 4000, 5000
MIN_SIDE, MAX_SIDE = 64, 2048


@dataclass(frozen=True)
class StudioImage:
    key: str
    url: str
    width: int
    height: int


@dataclass(frozen=True)
class StudioSpeech:
    key: str
    url: str
    duration: float
    sentences: tuple[Any, ...]


def _studio_caller(principal: Principal, offline: bool) -> Caller:
    return Caller(user_id=principal.require_user(), on_quota="raise", offline_only=offline)


def _text(value: str | None, field_name: str, limit: int, *, required: bool = True) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise BadInput(f"`{field_name}` must not be empty.", field=field_name)
        return None
    if len(value) > limit:
        raise BadInput(f"`{field_name}` is longer than {limit} characters.", field=field_name)
    return value


async def studio_script(
    resources: Resources,
    principal: Principal,
    *,
    topic: str,
    target_seconds: int | None,
    language: str | None,
    own_script: str | None,
    offline: bool = False,
) -> ScriptResult:
    # The rules of createVideo's prompt, script, duration and language (domain.video_input).
    script = video_rules.script(own_script)
    topic_text = video_rules.prompt(topic, "topic") or (script or "")[:200]
    if not topic_text:
        raise BadInput("`topic` must not be empty.", field="topic")
    seconds = video_rules.duration(60 if target_seconds is None else target_seconds)
    lang = video_rules.language(language)
    request = ScriptRequest(topic=topic_text, target_seconds=float(seconds), language=lang, own_script=script)
    return await AIService.for_resources(resources).write_script(_studio_caller(principal, offline), request)


def _storage(resources: Resources) -> Any:
    return resources.storage


async def studio_image(
    resources: Resources, principal: Principal, *, prompt: str, width: int, height: int, offline: bool = False
) -> StudioImage:
    text = _text(prompt, "prompt", MAX_IMAGE_PROMPT)
    assert text is not None
    for name, side in (("width", width), ("height", height)):
        if not MIN_SIDE <= side <= MAX_SIDE:
            raise BadInput(f"`{name}` must be between {MIN_SIDE} and {MAX_SIDE} pixels.", field=name)
    caller = _studio_caller(principal, offline)
    storage = _storage(resources)
    stored: list[str] = []

    async def store(result: ImageResult) -> str:
        ext = "jpg" if result.mime_type == "image/jpeg" else "png"
        key = f"generations/{caller.user_id}/{uuid.uuid4()}.{ext}"
        await storage.put_bytes(key, result.data, result.mime_type)
        stored.append(key)
        return key

    request = ImageRequest(prompt=text, width=width, height=height, seed=text)
    result = await AIService.for_resources(resources).generate_image(caller, request, store=store)
    return StudioImage(
        key=stored[-1], url=str(await storage.url(stored[-1])), width=result.width, height=result.height
    )


async def studio_speech(
    resources: Resources, principal: Principal, *, text: str, voice: str | None, offline: bool = False
) -> StudioSpeech:
    from providers.ai.offline import split_sentences

    body = _text(text, "text", MAX_SPEECH_TEXT)
    assert body is not None
    asked = (voice or "").strip()
    if asked.lower() not in video_rules.DEFAULT_VOICE_WORDS:
        voice = video_rules.voice(asked, await voice_ids(resources, principal))  # as createVideo checks it
    else:
        voice = None
    sentences = tuple(await asyncio.to_thread(split_sentences, body, "en")) or (body,)
    caller = _studio_caller(principal, offline)
    storage = _storage(resources)
    work = resources.settings.work_dir / "studio" / uuid.uuid4().hex
    work.mkdir(parents=True, exist_ok=True)
    stored: list[str] = []

    async def store(result: SpeechResult) -> str:
        key = f"generations/{caller.user_id}/{uuid.uuid4()}.wav"
        await storage.put_file(key, Path(result.path), "audio/wav")
        stored.append(key)
        return key

    try:
        request = SpeechRequest(sentences=sentences, output_path=work / "speech.wav", voice=voice or None)
        result = await AIService.for_resources(resources).synthesize(caller, request, store=store)
    finally:
        import shutil

        await asyncio.to_thread(shutil.rmtree, work, True)
    return StudioSpeech(
        key=stored[-1],
        url=str(await storage.url(stored[-1])),
        duration=result.duration,
        sentences=result.sentences,
    )
