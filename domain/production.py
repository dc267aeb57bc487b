"""What each pipeline stage does. Every stage reads the outputs of earlier stages from object
storage and writes its own there (keys returned as its outputs), so any worker on any machine
can run the next stage or resume this one."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.ai.cache import script_from_dict, script_to_dict
from domain.ai.service import AIService, Caller
from domain.errors import BadInput
from media.processes import CancelFlag
from media.progress import ProgressFile, follow
from persistence.enums import AspectRatio, PipelineStage
from providers.ai.base import ImageRequest, Script, ScriptRequest, SpeechRequest, SpeechResult

Progress = Callable[[int, str | None], Awaitable[None]]

FRAME = {
    AspectRatio.PORTRAIT: (1080, 1920),
    AspectRatio.LANDSCAPE: (1920, 1080),
    AspectRatio.SQUARE: (1080, 1080),
}


@dataclass
class VideoSpec:
    """What the stages need to know of the video, read once at claim time."""

    id: uuid.UUID
    user_id: uuid.UUID
    run: int
    title: str
    prompt: str
    script: str | None
    aspect: AspectRatio
    target_seconds: int
    voice: str | None
    language: str
    version: int = 1
    style: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageWork:
    spec: VideoSpec
    outputs: dict[PipelineStage, dict[str, Any]]
    storage: Any
    ai: AIService
    work_dir: Path
    progress: Progress
    render_preset: str = "veryfast"
    render_crf: int = 23
    render_timeout: float | None = None
    cancel: CancelFlag = field(init=False)
    """Set when the video is cancelled; seen by the render in its worker process."""

    def __post_init__(self) -> None:
        self.cancel = CancelFlag(self.work_dir / ".cancelled")

    @property
    def prefix(self) -> str:
        return f"videos/{self.spec.id}/runs/{self.spec.run}"

    @property
    def caller(self) -> Caller:
        return Caller(user_id=self.spec.user_id, video_id=self.spec.id)

    async def script(self) -> Script:
        key = self.outputs[PipelineStage.SCRIPT]["script_key"]
        return script_from_dict(json.loads(await self.storage.get_bytes(key)))


def within(
    w: StageWork, low: int, high: int, message: Callable[[float, float], str]
) -> Callable[[float, float], Awaitable[None]]:
    """A `follow` callback: work done of total as the stage's progress between `low` and `high`
    percent. Called only when more is done; the job throttles what it writes and publishes (at
    most every 0.5 s), and the message says how far the work is even when the whole percent
    of the video's progress has not moved yet."""

    async def report(done: float, total: float) -> None:
        await w.progress(low + int((high - low) * min(1.0, done / total)), message(done, total))

    return report


# ------------------------------------------------------------------ stages


async def run_script(w: StageWork) -> dict[str, Any]:
    spec = w.spec
    await w.progress(10, "Writing the script")
    # Written at the pace of the voice that will read it, so the video comes out at the asked length.
    pace = await w.ai.speech_pace(w.caller) if spec.script is None else 155
    result = await w.ai.write_script(
        w.caller,
        ScriptRequest(
            topic=spec.prompt,
            target_seconds=float(spec.target_seconds),
            language=spec.language,
            own_script=spec.script,
            title=spec.title,
            words_per_minute=pace,
        ),
    )
    script = result.script
    if not script.scenes:
        raise BadInput("The script came out empty; give a longer prompt or your own script.")
    key = f"{w.prefix}/script.json"
    await w.storage.put_bytes(key, json.dumps(script_to_dict(script)).encode(), "application/json")
    return {
        "script_key": key,
        "scenes": len(script.scenes),
        "narration": script.narration,
        "seo": {
            "title": script.seo.title[:100],
            "description": script.seo.description,
            "keywords": list(script.seo.keywords)[:15],
        },
    }


def _sentences(script: Script) -> tuple[list[str], list[int]]:
    """The narration's sentences, and the scene each belongs to."""
    from providers.ai.offline import split_sentences

    sentences: list[str] = []
    scene_of: list[int] = []
    for scene in script.scenes:
        for sentence in split_sentences(scene.narration, script.language):
            sentences.append(sentence)
            scene_of.append(scene.index)
    return sentences, scene_of


async def run_narration(w: StageWork) -> dict[str, Any]:
    script = await w.script()
    # A 20,000-character script takes tens of milliseconds to split: not on the event loop.
    sentences, scene_of = await asyncio.to_thread(_sentences, script)
    if not sentences:
        raise BadInput("The script has nothing to narrate.")
    await w.progress(5, f"Narrating {len(sentences)} sentences")
    out = w.work_dir / "narration.wav"
    spoken = ProgressFile(w.work_dir / ".narration-progress")  # written by the voice, per sentence
    result = await follow(
        spoken,
        w.ai.synthesize(
            w.caller,
            SpeechRequest(
                sentences=tuple(sentences),
                output_path=out,
                voice=w.spec.voice,
                language=w.spec.language,
                progress=spoken,
            ),
        ),
        within(w, 5, 90, lambda done, total: f"Narrated {done:.0f} of {total:.0f} sentences"),
    )
    key = f"{w.prefix}/narration.wav"
    await w.storage.put_file(key, result.path, "audio/wav")
    timings = [
        {"start": s.start, "end": s.end, "text": s.text, "scene": scene_of[i] if i < len(scene_of) else -1}
        for i, s in enumerate(result.sentences)
    ]
    for timing, starts in zip(timings, word_starts(result), strict=True):
        if starts is not None:
            timing["words"] = starts  # when each word is spoken: captions appear with it
    return {"audio_key": key, "duration": result.duration, "sentences": timings}


def word_starts(result: SpeechResult) -> list[list[float] | None]:
    """Per sentence, when each of its words starts, if the voice said so (ElevenLabs aligns
    exactly, OpenAI's adapter estimates, Piper gives none) and one per word of the sentence."""
    out: list[list[float] | None] = []
    words = sorted(result.words, key=lambda w: w.start)
    k = 0
    for s in result.sentences:
        mine: list[float] = []
        while k < len(words) and words[k].start < s.end + 0.01:
            if words[k].start >= s.start - 0.01:
                mine.append(round(words[k].start, 3))
            k += 1
        out.append(mine if mine and len(mine) == len(s.text.split()) else None)
    return out


async def run_visuals(w: StageWork) -> dict[str, Any]:
    script = await w.script()
    width, height = FRAME[w.spec.aspect]
    keys: list[str] = []
    total = len(script.scenes)
    for i, scene in enumerate(script.scenes):
        key = f"{w.prefix}/scenes/{scene.index:03d}-{w.spec.aspect.value}.png"
        if not await w.storage.exists(key):  # resume: scenes made by an earlier attempt are kept
            image = await w.ai.generate_image(
                w.caller,
                ImageRequest(
                    prompt=scene.visual,
                    width=width,
                    height=height,
                    scene_index=scene.index,
                    heading=scene.heading,
                    keywords=scene.keywords,
                    seed=str(w.spec.id),
                ),
            )
            await w.storage.put_bytes(key, image.data, image.mime_type)
        keys.append(key)
        await w.progress(int((i + 1) * 100 / total), f"Scene {i + 1} of {total}")
        if w.cancel.is_set():
            raise asyncio.CancelledError
    cover = await _cover(w, script, width, height)
    return {"scene_keys": keys, "aspect": w.spec.aspect.value, "cover_key": cover}


async def _cover(w: StageWork, script: Script, width: int, height: int) -> str | None:
    """A picture for the thumbnail, which gets the title drawn on it: a scene picture without a
    heading when there is one, else one made without text (offline scripts head every scene)."""
    if any(not scene.heading for scene in script.scenes):
        return None  # the assembly picks that scene's picture
    key = f"{w.prefix}/scenes/cover-{w.spec.aspect.value}.png"
    if not await w.storage.exists(key):
        first = script.scenes[0]
        image = await w.ai.generate_image(
            w.caller,
            ImageRequest(prompt=first.visual, width=width, height=height, scene_index=first.index,
                         keywords=first.keywords, seed=str(w.spec.id)),
        )  # fmt: skip
        await w.storage.put_bytes(key, image.data, image.mime_type)
    return key


async def run_assembly(w: StageWork) -> dict[str, Any]:
    import media
    import media.processes

    narration = w.outputs[PipelineStage.NARRATION]
    visuals = w.outputs[PipelineStage.VISUALS]
    script = await w.script()
    audio = await w.storage.get_to_path(narration["audio_key"], w.work_dir / "narration.wav")
    images = []
    for i, key in enumerate(visuals["scene_keys"]):
        images.append(await w.storage.get_to_path(key, w.work_dir / f"scene-{i:03d}.png"))
    duration = float(narration["duration"])
    spans = scene_spans(
        [s["scene"] for s in narration["sentences"]],
        [s["start"] for s in narration["sentences"]],
        [sc.index for sc in script.scenes],
        duration,
    )
    # A scene without a sentence of its own gets no time: it is left out, not shown for 0 s.
    scenes = [
        media.SceneInput(path=images[i], start=a, end=b, heading=script.scenes[i].heading)
        for i, (a, b) in enumerate(spans)
        if b - a >= 0.05
    ]
    # Phrase cues fitted to the frame's caption width (so the renderer burns them in unchanged);
    # built in a worker process: tens of milliseconds of Python for a minute of narration.
    cues = await media.processes.run(
        media.cues_for_frame,
        [
            (s["start"], s["end"], s["text"], *([s["words"]] if s.get("words") else []))
            for s in narration["sentences"]
        ],
        w.spec.aspect.name,
        media.CaptionStyle(),
    )
    # The thumbnail gets the title drawn on it: start from a picture without a heading of its own.
    plain = next(
        (images[i] for i, sc in enumerate(script.scenes) if not sc.heading and i < len(images)), None
    )
    if visuals.get("cover_key"):
        plain = await w.storage.get_to_path(visuals["cover_key"], w.work_dir / "cover.png")
    out_dir = w.work_dir / "render"
    request = media.RenderRequest(
        scenes=scenes,
        narration_path=audio,
        cues=cues,
        title=w.spec.title,
        output_dir=out_dir,
        thumbnail_image=plain,
        options=media.RenderOptions(
            aspect=w.spec.aspect.name,  # type: ignore[arg-type]
            preset=w.render_preset,
            crf=w.render_crf,
            captions=bool(w.spec.style.get("captions", True)),
            intro_text=w.spec.style.get("intro_text"),
            outro_text=w.spec.style.get("outro_text"),
        ),
    )
    await w.progress(5, "Rendering")
    # In a worker process: the render's own Python work (stills, frames, thumbnails) must not take
    # the GIL from the event loop that serves the API (media.processes). It writes how many seconds
    # of video it has encoded (ffmpeg's -progress) to a file this stage follows.
    rendered = ProgressFile(w.work_dir / ".render-progress")
    result = await follow(
        rendered,
        media.processes.run(
            media.render_video, request, timeout=w.render_timeout, cancel=w.cancel, progress=rendered
        ),
        within(w, 5, 90, lambda done, total: f"Rendering ({100 * done / total:.0f} %)"),
    )
    await w.progress(90, "Storing the render")
    keys = {
        "video_key": f"{w.prefix}/render/video.mp4",
        "thumbnail_key": f"{w.prefix}/render/thumbnail.jpg",
        "vtt_key": f"{w.prefix}/render/captions.vtt",
        "srt_key": f"{w.prefix}/render/captions.srt",
    }
    await w.storage.put_file(keys["thumbnail_key"], result.thumbnail_path, "image/jpeg")
    await w.storage.put_file(keys["vtt_key"], result.vtt_path, "text/vtt")
    await w.storage.put_file(keys["srt_key"], result.srt_path, "application/x-subrip")
    size = await w.storage.put_file(keys["video_key"], result.video_path, "video/mp4")
    return {
        **keys,
        "size": size,
        "duration": result.duration,
        "resolution": f"{result.width}x{result.height}",
        "video_codec": result.video_codec,
        "audio_codec": result.audio_codec,
    }


async def run_upload(w: StageWork) -> dict[str, Any]:
    """Publish the render under the video's next version; the run's render stays until cleanup."""
    render = w.outputs[PipelineStage.ASSEMBLY]
    base = f"videos/{w.spec.id}/v{w.spec.version}"
    moved: dict[str, Any] = {}
    names = {
        "video_key": "video.mp4",
        "thumbnail_key": "thumbnail.jpg",
        "vtt_key": "captions.vtt",
        "srt_key": "captions.srt",
    }
    types = {
        "video_key": "video/mp4",
        "thumbnail_key": "image/jpeg",
        "vtt_key": "text/vtt",
        "srt_key": "application/x-subrip",
    }
    for i, (field_name, filename) in enumerate(names.items()):
        src, dest = render[field_name], f"{base}/{filename}"
        local = await w.storage.get_to_path(src, w.work_dir / filename)
        moved[field_name] = dest
        moved[field_name.replace("_key", "_size")] = await w.storage.put_file(dest, local, types[field_name])
        await w.progress(int((i + 1) * 100 / len(names)), None)
    return {**moved, "duration": render["duration"], "resolution": render["resolution"]}


STAGE_WORK: dict[PipelineStage, Callable[[StageWork], Awaitable[dict[str, Any]]]] = {
    PipelineStage.SCRIPT: run_script,
    PipelineStage.NARRATION: run_narration,
    PipelineStage.VISUALS: run_visuals,
    PipelineStage.ASSEMBLY: run_assembly,
    PipelineStage.UPLOAD: run_upload,
}


def scene_spans(
    sentence_scenes: list[int], sentence_starts: list[float], scene_indexes: list[int], duration: float
) -> list[tuple[float, float]]:
    """Each scene spans from its first sentence's start to the next scene's start; the first
    starts at 0 and the last ends with the narration, so pictures cover the audio exactly."""
    firsts: dict[int, float] = {}
    for scene, start in zip(sentence_scenes, sentence_starts, strict=False):
        firsts.setdefault(scene, start)
    starts: list[float] = []
    for i, idx in enumerate(scene_indexes):
        starts.append(0.0 if i == 0 else firsts.get(idx, starts[-1] if starts else 0.0))
    spans = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else duration
        spans.append((start, max(end, start)))
    return spans


def clean_work_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
