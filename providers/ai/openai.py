"""OpenAI adapters (text, image, speech) on the official `openai` SDK.

`base_url` points any of them at an OpenAI-compatible server (Ollama, vLLM,
LM Studio, LocalAI...); give it a `name` ("ollama") so logs and breakers tell
them apart. The SDK's own retries are off: retrying and falling back is the
FallbackChain's job. With an `outbound` policy (a user's own key) every connection
goes through providers/net.py's checked transport, redirects off.

Generated images are taken as inline base64, or downloaded from the provider's own
origin only (same scheme, host and port as its base URL), through the same client,
without redirects, and at most MAX_IMAGE_BYTES.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import re
import struct
from collections.abc import Sequence
from typing import Any

import openai

from providers.ai.base import (
    ImageRequest,
    ImageResult,
    MalformedResponseError,
    ProviderError,
    ProviderUnavailableError,
    ScriptRequest,
    ScriptResult,
    SpeechRequest,
    SpeechResult,
    TimedText,
    TransientProviderError,
    Usage,
    Voice,
    report_progress,
)
from providers.ai.errors import (
    ProviderAddressRefusedError,
    ProviderRejectedError,
    cause_for,
    map_openai_error,
)
from providers.ai.formats import PcmAudio, fit_image, read_wav, write_wav
from providers.ai.prompts import max_output_tokens, parse_script, system_prompt, user_prompt
from providers.net import (
    UNRESTRICTED,
    OutboundPolicy,
    OutboundRefusedError,
    TooLargeError,
    http_client,
    read_capped,
    same_origin,
)

_PLACEHOLDER_KEY = "not-needed"
MAX_IMAGE_BYTES = 20 * 1024 * 1024


class _OpenAIBase:
    """Builds the SDK client; keeps the key out of reprs and messages."""

    default_model = ""

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None = None,
        model: str | None = None,
        timeout: float = 60.0,
        name: str = "openai",
        outbound: OutboundPolicy | None = None,
    ) -> None:
        """`outbound`: check every connection against this policy (a user's own key); None
        keeps the SDK's own client (the server's configured providers)."""
        if not api_key and not base_url:
            raise ProviderUnavailableError(name, "no API key configured")
        self.name = name
        self.model = model or self.default_model
        self.base_url = base_url
        self.timeout = timeout
        self._secrets: tuple[str | None, ...] = (api_key,)
        self._http = http_client(outbound, flavour="httpx2", timeout=timeout) if outbound else None
        # Local servers usually ignore the key but the SDK insists on one.
        self._client = openai.AsyncOpenAI(
            api_key=api_key or _PLACEHOLDER_KEY,
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            http_client=self._http,
        )

    def _error(self, exc: BaseException) -> ProviderError:
        return map_openai_error(self.name, exc, self._secrets)

    async def aclose(self) -> None:
        await self._client.close()
        if self._http is not None:
            await self._http.aclose()

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r}{where})"


# ------------------------------------------------------------------ text


class OpenAIText(_OpenAIBase):
    default_model = "gpt-4o-mini"

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None = None,
        model: str | None = None,
        timeout: float = 60.0,
        name: str = "openai",
        json_mode: bool = True,
        temperature: float | None = None,
        max_tokens_param: str | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        """`json_mode` sends response_format={"type": "json_object"} (turn it off for servers
        that reject it; the prompt still asks for JSON and the parser is strict).
        `max_tokens_param`: "max_completion_tokens" (default for api.openai.com),
        "max_tokens" (default with a base_url), or "" to send no limit."""
        super().__init__(
            api_key, base_url=base_url, model=model, timeout=timeout, name=name, outbound=outbound
        )
        self.json_mode = json_mode
        self.temperature = temperature
        if max_tokens_param is None:
            max_tokens_param = "max_tokens" if base_url else "max_completion_tokens"
        self.max_tokens_param = max_tokens_param

    async def write_script(self, request: ScriptRequest) -> ScriptResult:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system_prompt()},
                {"role": "user", "content": user_prompt(request)},
            ],
        }
        if self.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.max_tokens_param:
            kwargs[self.max_tokens_param] = max_output_tokens(request)
        try:
            response = await self._client.chat.completions.create(**kwargs)
        except Exception as exc:
            raise self._error(exc) from cause_for(exc)
        choices = getattr(response, "choices", None)
        if not choices:
            raise MalformedResponseError(self.name, "answered without any choice")
        choice = choices[0]
        message = choice.message
        if getattr(message, "refusal", None):
            raise ProviderRejectedError(self.name, "the model refused to write this script")
        if choice.finish_reason == "content_filter":
            raise ProviderRejectedError(self.name, "the content filter blocked this script")
        if choice.finish_reason == "length":
            raise MalformedResponseError(self.name, "the answer was cut off (output token limit)")
        script = parse_script(self.name, message.content, request)
        usage = response.usage
        return ScriptResult(
            script=script,
            usage=Usage(
                model=response.model or self.model,
                input_tokens=usage.prompt_tokens if usage else 0,
                output_tokens=usage.completion_tokens if usage else 0,
                units=usage.total_tokens if usage else 0,
            ),
        )


# ------------------------------------------------------------------ images

_SIZES_BY_MODEL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dall-e-2", ("256x256", "512x512", "1024x1024")),
    ("dall-e-3", ("1024x1024", "1792x1024", "1024x1792")),
    ("", ("1024x1024", "1536x1024", "1024x1536")),  # gpt-image-*
)


def _parse_size(size: str) -> tuple[int, int]:
    w, _, h = size.partition("x")
    return int(w), int(h)


def closest_size(width: int, height: int, sizes: Sequence[str]) -> str:
    """The supported size with the closest aspect ratio (then the smallest that covers the
    request, else the largest), so cropping loses least."""
    if width <= 0 or height <= 0:
        raise ValueError("image size must be positive")
    want = math.log(width / height)

    def key(size: str) -> tuple[float, int, int]:
        w, h = _parse_size(size)
        covers = w >= width and h >= height
        return (round(abs(math.log(w / h) - want), 3), 0 if covers else 1, w * h if covers else -w * h)

    return min(sizes, key=key)


class OpenAIImages(_OpenAIBase):
    default_model = "gpt-image-1"

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None = None,
        model: str | None = None,
        timeout: float = 120.0,
        name: str = "openai",
        sizes: Sequence[str] | None = None,
        quality: str | None = None,
        request_b64: bool | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        """`sizes` the server accepts (default: by model family); `request_b64` sends
        response_format="b64_json" (default: only for dall-e models - GPT image models
        always answer base64 and reject the parameter)."""
        super().__init__(
            api_key, base_url=base_url, model=model, timeout=timeout, name=name, outbound=outbound
        )
        if sizes is None:
            sizes = next(s for prefix, s in _SIZES_BY_MODEL if self.model.startswith(prefix))
        if not sizes:
            raise ValueError("sizes must not be empty")
        self.sizes = tuple(sizes)
        self.quality = quality
        self.request_b64 = self.model.startswith("dall-e") if request_b64 is None else request_b64

    async def generate_image(self, request: ImageRequest) -> ImageResult:
        size = closest_size(request.width, request.height, self.sizes)
        kwargs: dict[str, Any] = {"model": self.model, "prompt": request.prompt, "n": 1, "size": size}
        if self.request_b64:
            kwargs["response_format"] = "b64_json"
        if self.quality:
            kwargs["quality"] = self.quality
        try:
            response = await self._client.images.generate(**kwargs)
        except Exception as exc:
            raise self._error(exc) from cause_for(exc)
        items = getattr(response, "data", None) or []
        if not items:
            raise MalformedResponseError(self.name, "answered without an image")
        item = items[0]
        if item.b64_json:
            try:
                raw = base64.b64decode(item.b64_json, validate=True)
            except (binascii.Error, ValueError):
                raise MalformedResponseError(self.name, "answered with invalid base64 image data") from None
        elif item.url:
            raw = await self._download(item.url)
        else:
            raise MalformedResponseError(self.name, "answered without image data")
        try:
            png = fit_image(raw, request.width, request.height)
        except ValueError as exc:
            raise MalformedResponseError(self.name, f"answered with {exc}") from None
        usage = getattr(response, "usage", None)
        return ImageResult(
            data=png,
            mime_type="image/png",
            width=request.width,
            height=request.height,
            usage=Usage(
                model=self.model,
                input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
                output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
                units=1,
            ),
        )

    async def _download(self, url: str) -> bytes:
        """The image at `url`, which must be on the provider's own origin, read through the
        provider's client (checked connections, no redirects) up to MAX_IMAGE_BYTES."""
        import httpx2

        if not same_origin(url, str(self._client.base_url)):
            raise MalformedResponseError(
                self.name, "answered with an image URL that is not on its own host (not downloaded)"
            )
        client = self._http or http_client(UNRESTRICTED, flavour="httpx2", timeout=self.timeout)
        try:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise TransientProviderError(self.name, "could not download the generated image")
                return await read_capped(response, MAX_IMAGE_BYTES)
        except OutboundRefusedError as exc:
            raise ProviderAddressRefusedError(self.name) from exc
        except TooLargeError:
            raise MalformedResponseError(
                self.name, f"answered with an image larger than {MAX_IMAGE_BYTES // 2**20} MB"
            ) from None
        except httpx2.TimeoutException as exc:
            raise self._error(TimeoutError()) from exc
        except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
            raise TransientProviderError(self.name, "could not download the generated image") from exc
        finally:
            if client is not self._http:
                await client.aclose()


# ------------------------------------------------------------------ speech


_WORD = re.compile(r"\S+")


def estimate_words(text: str, start: float, end: float) -> list[TimedText]:
    """Word timings inside a sentence, proportional to characters (an estimate)."""
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
    if not words:
        return []
    total = sum(e - s for s, e, _ in words) or 1
    span = max(0.0, end - start)
    out: list[TimedText] = []
    t = start
    for s, e, word in words:
        length = span * (e - s) / total
        out.append(TimedText(round(t, 3), round(t + length, 3), word))
        t += length
    return out


OPENAI_VOICES = (
    "alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx", "sage", "shimmer",
    "verse",
)  # fmt: skip


class OpenAISpeech(_OpenAIBase):
    """One speech request per sentence (bounded concurrency), so sentence timings are
    exact; the clips are joined with `pause` seconds of silence. Word timings are
    estimated within each sentence proportionally to characters."""

    default_model = "gpt-4o-mini-tts"

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None = None,
        model: str | None = None,
        timeout: float = 60.0,
        name: str = "openai",
        voice: str = "alloy",
        voices: Sequence[str] | None = None,
        concurrency: int = 4,
        pause: float = 0.25,
        instructions: str | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        super().__init__(
            api_key, base_url=base_url, model=model, timeout=timeout, name=name, outbound=outbound
        )
        self.voice = voice
        self.voices = tuple(voices) if voices is not None else OPENAI_VOICES
        self.concurrency = max(1, concurrency)
        self.pause = max(0.0, pause)
        self.instructions = instructions

    async def list_voices(self) -> list[Voice]:
        return [Voice(id=v, name=v.capitalize(), language="multi", provider=self.name) for v in self.voices]

    async def _sentence(self, text: str, voice: str, speed: float, gate: asyncio.Semaphore) -> PcmAudio:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "voice": voice,
            "input": text,
            "response_format": "wav",
        }
        if speed != 1.0:
            kwargs["speed"] = min(4.0, max(0.25, speed))
        if self.instructions:
            kwargs["instructions"] = self.instructions
        async with gate:
            try:
                response = await self._client.audio.speech.create(**kwargs)
                data = response.content
            except Exception as exc:
                raise self._error(exc) from cause_for(exc)
        try:
            return read_wav(data)
        except (ValueError, struct.error) as exc:
            raise MalformedResponseError(self.name, f"answered with unusable audio ({exc})") from None

    async def synthesize(self, request: SpeechRequest) -> SpeechResult:
        voice = request.voice or self.voice
        gate = asyncio.Semaphore(self.concurrency)
        texts = [s.strip() for s in request.sentences]
        jobs = [
            asyncio.ensure_future(self._sentence(t, voice, request.speed, gate)) if t else None for t in texts
        ]
        finished = [0]

        def one_done(_: object) -> None:
            finished[0] += 1
            report_progress(request, finished[0], len(texts))

        for j in jobs:
            if j is not None:
                j.add_done_callback(one_done)
        try:
            await asyncio.gather(*(j for j in jobs if j is not None))
        except BaseException:
            for j in jobs:
                if j is not None and not j.done():
                    j.cancel()
            await asyncio.gather(*(j for j in jobs if j is not None), return_exceptions=True)
            raise
        clips = [j.result() if j is not None else None for j in jobs]
        formats = {(c.sample_rate, c.channels) for c in clips if c is not None}
        if len(formats) > 1:
            raise MalformedResponseError(self.name, "answered with clips in different audio formats")
        rate, channels = formats.pop() if formats else (24000, 1)
        frame = channels * 2
        silence = b"\x00" * (round(self.pause * rate) * frame)
        parts: list[bytes] = []
        sentences: list[TimedText] = []
        words: list[TimedText] = []
        t = 0.0
        for i, (text, clip) in enumerate(zip(texts, clips, strict=True)):
            if i and parts:
                parts.append(silence)
                t += len(silence) / (rate * frame)
            start = t
            if clip is not None:
                parts.append(clip.frames)
                t += clip.duration
            sentences.append(TimedText(round(start, 3), round(t, 3), text))
            words += estimate_words(text, start, t)
        audio = PcmAudio(b"".join(parts), rate, channels, 2)
        write_wav(request.output_path, audio)
        return SpeechResult(
            path=request.output_path,
            duration=round(audio.duration, 3),
            sample_rate=rate,
            sentences=tuple(sentences),
            words=tuple(words),
            usage=Usage(model=self.model, units=sum(len(t) for t in texts)),
        )
