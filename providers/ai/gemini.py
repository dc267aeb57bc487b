"""Gemini adapters (text, image) on the official `google-genai` SDK, Gemini Developer API.

SDK notes (google-genai 3.6):
- `HttpOptions.timeout` is in MILLISECONDS.
- With aiohttp installed the async client uses it, and on connection errors it
  silently sleeps 1-10 s and retries once unless `retry_options` is set; we set
  `HttpRetryOptions(attempts=1)` so there are no SDK retries at all. Given an httpx
  client (`httpx_async_client`, our checked one for a user's own key) it uses that
  instead of aiohttp, and leaves closing it to us.
- `models.generate_images` (Imagen) is Vertex-only in this release, so images use
  `generate_content` with image output (response_modalities=["IMAGE"]).
"""

from __future__ import annotations

import math
from typing import Any

from google import genai
from google.genai import types

from providers.ai.base import (
    ImageRequest,
    ImageResult,
    MalformedResponseError,
    ProviderError,
    ProviderUnavailableError,
    ScriptRequest,
    ScriptResult,
    Usage,
)
from providers.ai.errors import ProviderRejectedError, cause_for, map_gemini_error
from providers.ai.formats import fit_image
from providers.ai.prompts import max_output_tokens, parse_script, system_prompt, user_prompt
from providers.net import OutboundPolicy, http_client, refusing_sync_client

_BLOCKED = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"}


class _GeminiBase:
    default_model = ""

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None = None,
        model: str | None = None,
        timeout: float = 60.0,
        name: str = "gemini",
        api_version: str | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        """`outbound`: check every connection against this policy (a user's own key, see
        providers/net.py); None keeps the SDK's own clients."""
        if not api_key:
            raise ProviderUnavailableError(name, "no API key configured")
        self.name = name
        self.model = model or self.default_model
        self.base_url = base_url
        self.timeout = timeout
        self._secrets: tuple[str | None, ...] = (api_key,)
        self._http = http_client(outbound, flavour="httpx2", timeout=timeout) if outbound else None
        options = types.HttpOptions(
            base_url=base_url,
            api_version=api_version,
            timeout=max(1, int(timeout * 1000)),
            retry_options=types.HttpRetryOptions(attempts=1),
            httpx_async_client=self._http,
            # The SDK builds a sync client too; ours connects nowhere (we only call async).
            httpx_client=refusing_sync_client("httpx2") if outbound else None,
        )
        self._client = genai.Client(api_key=api_key, vertexai=False, http_options=options)

    def _error(self, exc: BaseException) -> ProviderError:
        return map_gemini_error(self.name, exc, self._secrets)

    async def aclose(self) -> None:
        await self._client.aio.aclose()
        if self._http is not None:
            await self._http.aclose()

    async def _generate(self, contents: str, config: types.GenerateContentConfig) -> Any:
        try:
            return await self._client.aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except Exception as exc:
            raise self._error(exc) from cause_for(exc)

    def _check_blocked(self, response: Any) -> Any:
        feedback = getattr(response, "prompt_feedback", None)
        if feedback is not None and getattr(feedback, "block_reason", None):
            reason = _enum_name(feedback.block_reason)
            raise ProviderRejectedError(self.name, f"blocked the prompt ({reason})")
        candidates = getattr(response, "candidates", None) or []
        if not candidates:
            raise MalformedResponseError(self.name, "answered without any candidate")
        candidate = candidates[0]
        finish = _enum_name(getattr(candidate, "finish_reason", None))
        if finish in _BLOCKED:
            raise ProviderRejectedError(self.name, f"blocked the answer ({finish})")
        if finish == "MAX_TOKENS":
            raise MalformedResponseError(self.name, "the answer was cut off (max output tokens)")
        return candidate

    def _usage(self, response: Any, units: int | None = None) -> Usage:
        meta = getattr(response, "usage_metadata", None)
        prompt = int(getattr(meta, "prompt_token_count", 0) or 0)
        output = int(getattr(meta, "candidates_token_count", 0) or 0)
        output += int(getattr(meta, "thoughts_token_count", 0) or 0)  # billed as output
        return Usage(
            model=getattr(response, "model_version", None) or self.model,
            input_tokens=prompt,
            output_tokens=output,
            units=prompt + output if units is None else units,
        )

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r}{where})"


def _enum_name(value: Any) -> str:
    if value is None:
        return ""
    return str(getattr(value, "name", value)).upper()


class GeminiText(_GeminiBase):
    default_model = "gemini-2.5-flash"

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None = None,
        model: str | None = None,
        timeout: float = 60.0,
        name: str = "gemini",
        api_version: str | None = None,
        temperature: float | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            model=model,
            timeout=timeout,
            name=name,
            api_version=api_version,
            outbound=outbound,
        )
        self.temperature = temperature

    async def write_script(self, request: ScriptRequest) -> ScriptResult:
        config = types.GenerateContentConfig(
            system_instruction=system_prompt(),
            response_mime_type="application/json",
            max_output_tokens=max_output_tokens(request),
            temperature=self.temperature,
        )
        response = await self._generate(user_prompt(request), config)
        candidate = self._check_blocked(response)
        parts = getattr(getattr(candidate, "content", None), "parts", None) or []
        text = "".join(p.text for p in parts if getattr(p, "text", None) and not getattr(p, "thought", False))
        script = parse_script(self.name, text, request)
        return ScriptResult(script=script, usage=self._usage(response))


ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9")


def closest_aspect_ratio(width: int, height: int, ratios: tuple[str, ...] = ASPECT_RATIOS) -> str:
    want = math.log(width / height)

    def distance(ratio: str) -> float:
        w, _, h = ratio.partition(":")
        return abs(math.log(int(w) / int(h)) - want)

    return min(ratios, key=distance)


class GeminiImages(_GeminiBase):
    """Image output of a Gemini image model via generate_content; the picture comes back at
    the closest supported aspect ratio and is cropped/resized to the exact request size."""

    default_model = "gemini-2.5-flash-image"

    async def generate_image(self, request: ImageRequest) -> ImageResult:
        config = types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(aspect_ratio=closest_aspect_ratio(request.width, request.height)),
        )
        response = await self._generate(request.prompt, config)
        candidate = self._check_blocked(response)
        parts = getattr(getattr(candidate, "content", None), "parts", None) or []
        blob = next((p.inline_data for p in parts if getattr(p, "inline_data", None) is not None), None)
        if blob is None or not blob.data:
            raise MalformedResponseError(self.name, "answered without an image")
        try:
            png = fit_image(blob.data, request.width, request.height)
        except ValueError as exc:
            raise MalformedResponseError(self.name, f"answered with {exc}") from None
        return ImageResult(
            data=png,
            mime_type="image/png",
            width=request.width,
            height=request.height,
            usage=self._usage(response, units=1),
        )
