"""Claude text adapter on the official `anthropic` SDK (Messages API)."""

from __future__ import annotations

from typing import Any

import anthropic

from providers.ai.base import (
    MalformedResponseError,
    ProviderError,
    ProviderUnavailableError,
    ScriptRequest,
    ScriptResult,
    Usage,
)
from providers.ai.errors import ProviderRejectedError, cause_for, map_anthropic_error
from providers.ai.prompts import max_output_tokens, parse_script, system_prompt, user_prompt
from providers.net import OutboundPolicy, http_client


class ClaudeText:
    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None = None,
        model: str = "claude-sonnet-4-6",
        timeout: float = 60.0,
        name: str = "anthropic",
        temperature: float | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        """`outbound`: check every connection against this policy (a user's own key, see
        providers/net.py); None keeps the SDK's own client."""
        if not api_key:
            raise ProviderUnavailableError(name, "no API key configured")
        self.name = name
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.temperature = temperature
        self._secrets: tuple[str | None, ...] = (api_key,)
        self._http = http_client(outbound, flavour="httpx2", timeout=timeout) if outbound else None
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0, http_client=self._http
        )

    def _error(self, exc: BaseException) -> ProviderError:
        return map_anthropic_error(self.name, exc, self._secrets)

    async def aclose(self) -> None:
        await self._client.close()
        if self._http is not None:
            await self._http.aclose()

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"ClaudeText(name={self.name!r}, model={self.model!r}{where})"

    async def write_script(self, request: ScriptRequest) -> ScriptResult:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_output_tokens(request),
            "system": system_prompt(),
            "messages": [{"role": "user", "content": user_prompt(request)}],
        }
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        try:
            message = await self._client.messages.create(**kwargs)
        except Exception as exc:
            raise self._error(exc) from cause_for(exc)
        if message.stop_reason == "max_tokens":
            raise MalformedResponseError(self.name, "the answer was cut off (max_tokens)")
        if message.stop_reason == "refusal":
            raise ProviderRejectedError(self.name, "the model refused to write this script")
        blocks = getattr(message, "content", None) or []
        text = "".join(
            getattr(block, "text", "") for block in blocks if getattr(block, "type", None) == "text"
        )
        script = parse_script(self.name, text, request)
        usage = message.usage
        return ScriptResult(
            script=script,
            usage=Usage(
                model=message.model or self.model,
                input_tokens=usage.input_tokens if usage else 0,
                output_tokens=usage.output_tokens if usage else 0,
                units=(usage.input_tokens + usage.output_tokens) if usage else 0,
            ),
        )
