"""The offline providers' CPU work never runs on the event loop, and sentence splitting does a
bounded amount of work per period (a long text full of abbreviations used to be quadratic)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from providers.ai.base import ImageRequest, ScriptRequest, SpeechRequest
from providers.ai.offline import (
    OfflineScriptWriter,
    PiperSpeech,
    ProceduralImages,
    piper_speech,
    procedural_images,
    script_writer,
    sentences,
)

ABBREVIATED = "Dr. Smith e.g. vs. U.S. " * (20_000 // 24)  # the longest script a user may send


async def _with_heartbeat(work: Awaitable[Any]) -> tuple[Any, int]:
    """Run `work` while a tiny task counts how often the loop schedules it."""
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)
    before = ticks
    try:
        result = await work
    finally:
        beat.cancel()
    return result, ticks - before


def _record_thread(monkeypatch, owner: Any, name: str, seen: list[int]) -> None:
    original = getattr(owner, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)


async def test_the_script_writer_works_off_the_loop_while_the_loop_keeps_running(monkeypatch):
    seen: list[int] = []
    _record_thread(monkeypatch, script_writer.OfflineScriptWriter, "write_script_sync", seen)
    request = ScriptRequest(topic="abbreviations", target_seconds=600, own_script=ABBREVIATED)
    result, ticks = await _with_heartbeat(OfflineScriptWriter().write_script(request))
    assert result.script.scenes
    assert seen and threading.get_ident() not in seen
    assert ticks > 0  # the loop ran other tasks while the script was written


async def test_pictures_and_speech_are_made_off_the_loop(monkeypatch, tmp_path: Path):
    seen: list[int] = []
    _record_thread(monkeypatch, procedural_images, "render_png", seen)
    _record_thread(monkeypatch, piper_speech.PiperSpeech, "synthesize_sync", seen)
    image, ticks = await _with_heartbeat(
        ProceduralImages().generate_image(ImageRequest(prompt="a lighthouse", width=256, height=256))
    )
    assert image.data.startswith(b"\x89PNG") and ticks > 0
    speech = await PiperSpeech().synthesize(
        SpeechRequest(sentences=("The tide comes in.",), output_path=tmp_path / "s.wav")
    )
    assert speech.duration > 0
    assert len(seen) == 2 and threading.get_ident() not in seen


def test_sentence_splitting_looks_only_near_each_period(monkeypatch):
    scanned: list[int] = []
    pattern = sentences._WORD_BEFORE

    class Counting:
        def search(self, text: str, pos: int = 0, endpos: int | None = None) -> Any:
            end = len(text) if endpos is None else endpos
            scanned.append(end - pos)
            return pattern.search(text, pos, end)

    monkeypatch.setattr(sentences, "_WORD_BEFORE", Counting())
    out = sentences.split_sentences(ABBREVIATED)
    assert " ".join(out) == " ".join(ABBREVIATED.split())  # the words are kept exactly
    assert len(scanned) > 1000
    assert max(scanned) <= 64  # not the whole text before each period
