"""The offline providers' CPU work never runs on the event loop, and sentence splitting does a
bounded amount of work per period (a long text full of abbreviations used to be quadratic)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from providers.ai.base import ImageRequest, ScriptRequest, SpeechRequest
from providers.ai.offline import (
    OfflineScriptWriter,
    PiperSpeech,
    ProceduralImages,
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


def _record_offloaded(monkeypatch) -> list[str]:
    """The functions handed to the worker processes (they still run there)."""
    from media import processes

    seen: list[str] = []
    original = processes.run

    async def spy(fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await original(fn, *args, **kwargs)

    monkeypatch.setattr(processes, "run", spy)
    return seen


async def test_the_script_writer_works_off_the_loop_while_the_loop_keeps_running(monkeypatch):
    seen = _record_offloaded(monkeypatch)
    request = ScriptRequest(topic="abbreviations", target_seconds=600, own_script=ABBREVIATED)
    result, ticks = await _with_heartbeat(OfflineScriptWriter().write_script(request))
    assert result.script.scenes
    assert seen == ["write_script_sync"]
    assert ticks > 0  # the loop ran other tasks while the script was written


async def test_pictures_and_speech_are_made_off_the_loop(monkeypatch, tmp_path: Path):
    seen = _record_offloaded(monkeypatch)
    image, ticks = await _with_heartbeat(
        ProceduralImages().generate_image(ImageRequest(prompt="a lighthouse", width=256, height=256))
    )
    assert image.data.startswith(b"\x89PNG") and ticks > 0
    speech = await PiperSpeech().synthesize(
        SpeechRequest(sentences=("The tide comes in.",), output_path=tmp_path / "s.wav")
    )
    assert speech.duration > 0
    assert seen == ["render_png", "synthesize_sync"]


async def test_offloaded_work_runs_in_another_process_and_its_errors_come_back_whole():
    """Another process, so not even the GIL is shared with the event loop."""
    import os

    import pytest

    from media import processes
    from media.errors import RenderCancelled
    from providers.ai.base import PermanentProviderError

    assert await processes.run(os.getpid) != os.getpid()
    with pytest.raises(PermanentProviderError) as info:
        await processes.run(
            script_writer.OfflineScriptWriter().write_script_sync,
            ScriptRequest(topic="x", target_seconds=60, words_per_minute=0),
        )
    assert info.value.provider == script_writer.NAME and "words_per_minute" in info.value.message
    with pytest.raises(RenderCancelled) as cancelled:
        await processes.run(_raise_cancelled)
    assert cancelled.value.detail == "ffmpeg was killed"


def _raise_cancelled() -> None:
    from media.errors import RenderCancelled

    raise RenderCancelled("The render was cancelled.", "ffmpeg was killed")


async def test_a_cancel_flag_set_here_is_seen_in_the_worker_process(tmp_path: Path):
    from media import processes

    flag = processes.CancelFlag(tmp_path / "cancel")
    assert await processes.run(flag.is_set) is False
    flag.set()
    assert await processes.run(flag.is_set) is True


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
