import asyncio
import itertools
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from providers.ai.base import PermanentProviderError, SpeechProvider, SpeechRequest, SpeechResult
from providers.ai.offline import OFFLINE_VOICE_ID, PiperSpeech

SENTENCES = (
    "Have you ever wondered why the ocean is salty?",
    "Rivers carry tiny amounts of minerals from rocks into the sea.",
    "",
    "Over millions of years, those minerals pile up.",
    "Dr. Smith says seawater is about 3.5 percent salt.",
)
SPOKEN = [s for s in SENTENCES if s]

speech = PiperSpeech()


def _read(path: Path) -> tuple[np.ndarray, int, wave._wave_params]:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        samples = np.frombuffer(wav.readframes(params.nframes), dtype="<i2").astype(np.float32) / 32768.0
    return samples, params.framerate, params


class Reports:
    def __init__(self) -> None:
        self.seen: list[tuple[float, float]] = []

    def report(self, done: float, total: float) -> None:
        self.seen.append((done, total))


REPORTS = Reports()


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> SpeechResult:
    out = tmp_path_factory.mktemp("piper") / "sub" / "voice.wav"
    return speech.synthesize_sync(SpeechRequest(sentences=SENTENCES, output_path=out, progress=REPORTS))


def test_progress_is_reported_per_sentence(result: SpeechResult) -> None:
    n = len(SPOKEN)
    assert REPORTS.seen == [(i, n) for i in range(n + 1)]


def test_is_a_speech_provider() -> None:
    assert isinstance(speech, SpeechProvider)
    assert speech.name == "piper"


def test_wav_header_and_duration(result: SpeechResult) -> None:
    _samples, rate, params = _read(result.path)
    assert (params.nchannels, params.sampwidth, params.comptype) == (1, 2, "NONE")
    assert rate == result.sample_rate == 22050
    assert result.duration == pytest.approx(params.nframes / rate, abs=1e-6)


def test_audio_is_speech_not_silence(result: SpeechResult) -> None:
    samples, rate, _ = _read(result.path)
    rms = float(np.sqrt(np.mean(samples**2)))
    assert rms > 0.05  # silence is ~0; normalised speech sits around 0.1-0.2
    assert float(np.max(np.abs(samples))) > 0.5
    # Each sentence's span is loud; the pauses between them are near-silent.
    for t in result.sentences:
        seg = samples[int(t.start * rate) : int(t.end * rate)]
        assert float(np.sqrt(np.mean(seg**2))) > 0.05
    for a, b in zip(result.sentences, result.sentences[1:], strict=False):
        gap = samples[int(a.end * rate) + 10 : int(b.start * rate) - 10]
        assert gap.size > 0.2 * rate
        assert float(np.max(np.abs(gap))) < 0.02


def test_duration_matches_text_length(result: SpeechResult) -> None:
    words = sum(len(s.split()) for s in SPOKEN)
    assert 0.22 <= result.duration / words <= 0.6  # seconds per word: ~100-270 wpm
    for t in result.sentences:
        assert 0.18 <= (t.end - t.start) / len(t.text.split()) <= 0.8, t


def test_timings_are_exact_and_ordered(result: SpeechResult) -> None:
    timings = result.sentences
    assert [t.text for t in timings] == SPOKEN  # empty sentence skipped
    assert timings[0].start == pytest.approx(0.0, abs=0.05)
    for t in timings:
        assert t.end > t.start
    for a, b in itertools.pairwise(timings):
        assert b.start >= a.end
        assert 0.25 <= b.start - a.end <= 0.4  # a short natural pause
    assert abs(timings[-1].end - result.duration) <= 0.05
    assert result.usage.model == OFFLINE_VOICE_ID
    assert result.usage.units == sum(len(s) for s in SPOKEN)


async def test_async_synthesis_does_not_block_loop_and_speed_works(
    tmp_path: Path, result: SpeechResult
) -> None:
    ticks = 0
    stop = False

    async def ticker() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    fast = await speech.synthesize(
        SpeechRequest(sentences=SENTENCES, output_path=tmp_path / "fast.wav", voice="default", speed=1.5)
    )
    elapsed = time.perf_counter() - started
    stop = True
    await task
    # The loop kept ticking while Piper ran in a worker thread.
    assert ticks >= elapsed / 0.01 * 0.3
    speech_fast = sum(t.end - t.start for t in fast.sentences)
    speech_normal = sum(t.end - t.start for t in result.sentences)
    assert speech_fast < speech_normal * 0.85
    assert fast.path.exists()


async def test_voices_and_errors(tmp_path: Path) -> None:
    voices = await speech.list_voices()
    assert [v.id for v in voices] == [OFFLINE_VOICE_ID]
    assert voices[0].language.startswith("en")
    with pytest.raises(PermanentProviderError, match="unknown voice"):
        await speech.synthesize(
            SpeechRequest(sentences=("Hi.",), output_path=tmp_path / "a.wav", voice="nova")
        )
    with pytest.raises(PermanentProviderError, match="nothing to say"):
        await speech.synthesize(SpeechRequest(sentences=("", "  ", "..."), output_path=tmp_path / "b.wav"))
    with pytest.raises(PermanentProviderError, match="nothing to say"):
        await speech.synthesize(SpeechRequest(sentences=(), output_path=tmp_path / "c.wav"))
    with pytest.raises(PermanentProviderError):
        await speech.synthesize(SpeechRequest(sentences=("Hi.",), output_path=tmp_path / "d.wav", speed=0))
    assert not await asyncio.to_thread(lambda: list(tmp_path.iterdir()))


async def test_accepts_the_voice_id(tmp_path: Path) -> None:
    out = tmp_path / "e.wav"
    res = await speech.synthesize(
        SpeechRequest(sentences=("Hello there.",), output_path=out, voice=OFFLINE_VOICE_ID)
    )
    names = await asyncio.to_thread(lambda: [p.name for p in tmp_path.iterdir()])
    assert res.path == out and names == ["e.wav"]  # no temp file left behind
    assert res.duration > 0.3
