"""ElevenLabs speech adapter on the official `elevenlabs` SDK.

Speech comes from `text_to_speech.convert_with_timestamps` as raw PCM with a
character-level alignment, so sentence and word timings are exact (not
estimated). Long narrations are sent in chunks of whole sentences (with
previous/next text for continuity) and joined.

SDK notes (elevenlabs 2.78): retries are per request (`request_options
{"max_retries": 0}` on every call - the default is 2, with sleeps); a 2xx body
that is not JSON surfaces as ApiError(status_code=200) or ParsingError.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from elevenlabs.client import AsyncElevenLabs
from elevenlabs.types import VoiceSettings

from providers.ai.base import (
    MalformedResponseError,
    ProviderError,
    ProviderUnavailableError,
    SpeechRequest,
    SpeechResult,
    TimedText,
    Usage,
    Voice,
    report_progress,
)
from providers.ai.errors import ProviderRejectedError, cause_for, map_elevenlabs_error
from providers.ai.formats import PcmAudio, write_wav
from providers.net import OutboundPolicy, http_client

_NO_RETRIES: Any = {"max_retries": 0}
_WORD = re.compile(r"\S+")
DEFAULT_VOICE = "21m00Tcm4TlvDq8ikWAM"  # "Rachel", a premade voice every account has


@dataclass(frozen=True)
class _Chunk:
    text: str
    spans: tuple[tuple[int, int, int], ...]
    """(sentence index, start, end) character offsets of each sentence in `text`."""


def chunk_sentences(sentences: Sequence[str], max_chars: int) -> list[_Chunk]:
    """Group whole sentences into requests of at most max_chars (a longer sentence goes alone)."""
    chunks: list[_Chunk] = []
    text = ""
    spans: list[tuple[int, int, int]] = []
    for i, sentence in enumerate(sentences):
        if not sentence:
            continue
        joined = f"{text} {sentence}" if text else sentence
        if text and len(joined) > max_chars:
            chunks.append(_Chunk(text, tuple(spans)))
            text, spans, joined = "", [], sentence
        start = len(joined) - len(sentence)
        spans.append((i, start, len(joined)))
        text = joined
    if text:
        chunks.append(_Chunk(text, tuple(spans)))
    return chunks


class _Alignment:
    """Times of characters of the text sent, from the provider's alignment. If the aligned
    characters do not line up with the text, positions are mapped proportionally."""

    def __init__(self, text: str, chars: list[str], starts: list[float], ends: list[float]) -> None:
        if not chars or len(chars) != len(starts) or len(chars) != len(ends):
            raise ValueError("inconsistent alignment")
        self.n_text = len(text)
        self.exact = "".join(chars) == text
        self.starts, self.ends = starts, ends

    def _index(self, i: int) -> int:
        if self.exact:
            return i
        return min(len(self.starts) - 1, int(i * len(self.starts) / max(1, self.n_text)))

    def start(self, i: int) -> float:
        return float(self.starts[self._index(i)])

    def end(self, i: int) -> float:
        return float(self.ends[self._index(i)])


class ElevenLabsSpeech:
    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None = None,
        model: str = "eleven_multilingual_v2",
        timeout: float = 60.0,
        name: str = "elevenlabs",
        voice: str = DEFAULT_VOICE,
        sample_rate: int = 22050,
        max_chars: int = 4500,
        send_language: bool = False,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        """`sample_rate` picks output_format pcm_<rate> (16000, 22050, 24000, 44100);
        `send_language` passes language_code (only some models accept it); `outbound` checks
        every connection against this policy (a user's own key, see providers/net.py)."""
        if not api_key:
            raise ProviderUnavailableError(name, "no API key configured")
        self.name = name
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.voice = voice
        self.sample_rate = sample_rate
        self.max_chars = max(100, max_chars)
        self.send_language = send_language
        self._secrets: tuple[str | None, ...] = (api_key,)
        self._http = http_client(outbound, timeout=timeout) if outbound else None
        self._client = AsyncElevenLabs(
            api_key=api_key, base_url=base_url, timeout=timeout, httpx_client=self._http
        )

    def _error(self, exc: BaseException) -> ProviderError:
        return map_elevenlabs_error(self.name, exc, self._secrets)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"ElevenLabsSpeech(name={self.name!r}, model={self.model!r}{where})"

    # ------------------------------------------------------------ speech

    async def synthesize(self, request: SpeechRequest) -> SpeechResult:
        texts = [" ".join(s.split()) for s in request.sentences]
        chunks = chunk_sentences(texts, self.max_chars)
        voice = request.voice or self.voice
        frame = 2  # mono 16-bit
        pcm = bytearray()
        timed: dict[int, TimedText] = {}
        words: list[TimedText] = []
        for n, chunk in enumerate(chunks):
            offset = len(pcm) / (self.sample_rate * frame)
            audio, alignment = await self._convert(
                voice,
                chunk.text,
                request,
                previous_text=chunks[n - 1].text[-500:] if n else None,
                next_text=chunks[n + 1].text[:500] if n + 1 < len(chunks) else None,
            )
            pcm += audio
            report_progress(request, chunk.spans[-1][0] + 1 if chunk.spans else 0, len(texts))
            duration = len(pcm) / (self.sample_rate * frame)
            for index, start, end in chunk.spans:
                t0 = min(duration, offset + alignment.start(start))
                t1 = min(duration, max(t0, offset + alignment.end(end - 1)))
                timed[index] = TimedText(round(t0, 3), round(t1, 3), texts[index])
                for m in _WORD.finditer(chunk.text, start, end):
                    w0 = min(duration, offset + alignment.start(m.start()))
                    w1 = min(duration, max(w0, offset + alignment.end(m.end() - 1)))
                    words.append(TimedText(round(w0, 3), round(w1, 3), m.group()))
        # Empty sentences get a zero-length slot where they stood.
        sentences: list[TimedText] = []
        last = 0.0
        for i, text in enumerate(texts):
            item = timed.get(i) or TimedText(last, last, text)
            sentences.append(item)
            last = item.end
        wav = PcmAudio(bytes(pcm), self.sample_rate, 1, 2)
        write_wav(request.output_path, wav)
        return SpeechResult(
            path=request.output_path,
            duration=round(wav.duration, 3),
            sample_rate=self.sample_rate,
            sentences=tuple(sentences),
            words=tuple(words),
            usage=Usage(model=self.model, units=sum(len(c.text) for c in chunks)),
        )

    async def _convert(
        self,
        voice: str,
        text: str,
        request: SpeechRequest,
        *,
        previous_text: str | None,
        next_text: str | None,
    ) -> tuple[bytes, _Alignment]:
        kwargs: dict[str, Any] = {
            "text": text,
            "model_id": self.model,
            "output_format": f"pcm_{self.sample_rate}",
            "request_options": _NO_RETRIES,
        }
        if previous_text:
            kwargs["previous_text"] = previous_text
        if next_text:
            kwargs["next_text"] = next_text
        if self.send_language:
            kwargs["language_code"] = request.language
        if request.speed != 1.0:
            kwargs["voice_settings"] = VoiceSettings(speed=min(1.2, max(0.7, request.speed)))
        try:
            response = await self._client.text_to_speech.convert_with_timestamps(voice, **kwargs)
        except Exception as exc:
            raise self._error(exc) from cause_for(exc)
        try:
            audio = base64.b64decode(response.audio_base_64 or "", validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise MalformedResponseError(self.name, "answered with invalid base64 audio") from None
        if not audio:
            raise MalformedResponseError(self.name, "answered without audio")
        audio = audio[: len(audio) - len(audio) % 2]
        raw = response.alignment or response.normalized_alignment
        if raw is None:
            raise MalformedResponseError(self.name, "answered without timestamps")
        try:
            alignment = _Alignment(
                text,
                list(raw.characters),
                list(raw.character_start_times_seconds),
                list(raw.character_end_times_seconds),
            )
        except (ValueError, TypeError):
            raise MalformedResponseError(self.name, "answered with inconsistent timestamps") from None
        return audio, alignment

    # ------------------------------------------------------------ voices

    async def list_voices(self) -> list[Voice]:
        try:
            response = await self._client.voices.get_all(request_options=_NO_RETRIES)
        except Exception as exc:
            raise self._error(exc) from cause_for(exc)
        voices: list[Voice] = []
        for v in getattr(response, "voices", None) or []:
            labels = v.labels or {}
            language = labels.get("language")
            if not language and v.verified_languages:
                language = getattr(v.verified_languages[0], "language", None)
            voices.append(
                Voice(
                    id=v.voice_id,
                    name=v.name or v.voice_id,
                    language=language or "multi",
                    provider=self.name,
                    gender=labels.get("gender"),
                    preview_url=v.preview_url,
                )
            )
        return voices

    async def clone_voice(
        self,
        name: str,
        sample_bytes: bytes,
        *,
        filename: str = "sample.wav",
        content_type: str = "audio/wav",
        description: str | None = None,
        remove_background_noise: bool = False,
    ) -> Voice:
        """Instant voice cloning (IVC) from one audio sample; the new voice is usable at once
        unless ElevenLabs asks for verification (then PermanentProviderError)."""
        kwargs: dict[str, Any] = {
            "name": name,
            "files": [(filename, sample_bytes, content_type)],
            "request_options": _NO_RETRIES,
        }
        if description:
            kwargs["description"] = description
        if remove_background_noise:
            kwargs["remove_background_noise"] = True
        try:
            response = await self._client.voices.ivc.create(**kwargs)
        except Exception as exc:
            raise self._error(exc) from cause_for(exc)
        voice_id = getattr(response, "voice_id", None)
        if not isinstance(voice_id, str) or not voice_id:
            raise MalformedResponseError(self.name, "answered without a voice id")
        if getattr(response, "requires_verification", False):
            raise ProviderRejectedError(
                self.name, f"the cloned voice {voice_id} needs verification in the ElevenLabs dashboard"
            )
        return Voice(id=voice_id, name=name, language="multi", provider=self.name)
