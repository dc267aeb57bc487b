"""Which provider class serves which kind of generation, as a table, and how one is built.

Adding a provider: a row in EXTERNAL (kind, name → class and the setting naming its model).
The offline providers ("offline" text, "procedural" images, "piper" speech) are free, unlimited
and always last in every chain built here.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from providers.ai.base import ImageProvider, ProviderUnavailableError, SpeechProvider, TextProvider
from providers.net import OutboundPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class External:
    cls: str
    """"module:Class" under providers.ai."""
    model_setting: str
    options: Callable[[Any], dict[str, Any]] | None = None
    """More constructor arguments read from the settings."""


EXTERNAL: dict[tuple[str, str], External] = {
    ("text", "openai"): External(
        "openai:OpenAIText", "openai_text_model", lambda s: {"json_mode": s.openai_json_mode}
    ),
    ("text", "anthropic"): External("anthropic:ClaudeText", "anthropic_model"),
    ("text", "gemini"): External("gemini:GeminiText", "gemini_text_model"),
    ("image", "openai"): External("openai:OpenAIImages", "openai_image_model"),
    ("image", "gemini"): External("gemini:GeminiImages", "gemini_image_model"),
    ("speech", "elevenlabs"): External("elevenlabs:ElevenLabsSpeech", "elevenlabs_model"),
    ("speech", "openai"): External("openai:OpenAISpeech", "openai_speech_model"),
}

OFFLINE: dict[str, tuple[str, str]] = {
    "text": ("offline", "OfflineScriptWriter"),
    "image": ("procedural", "ProceduralImages"),
    "speech": ("piper", "PiperSpeech"),
}
"""kind → (provider name, class in providers.ai.offline)."""

OFFLINE_PROVIDERS = frozenset(name for name, _ in OFFLINE.values())
CAPABLE: dict[str, tuple[str, ...]] = {
    kind: tuple(name for (k, name) in EXTERNAL if k == kind) for kind in ("text", "image", "speech")
}
"""Which external providers can do each kind, in the table's order."""


def is_offline(provider: Any) -> bool:
    return getattr(provider, "name", provider) in OFFLINE_PROVIDERS


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def server_key(settings: Any, name: str) -> tuple[str | None, str | None]:
    """The server's (api_key, base_url) for an external provider."""
    return _secret(getattr(settings, f"{name}_api_key", None)), getattr(settings, f"{name}_base_url", None)


def _class(path: str) -> Any:
    module, name = path.split(":")
    return getattr(importlib.import_module(f"providers.ai.{module}"), name)


def make_external(
    kind: str,
    name: str,
    settings: Any,
    api_key: str | None,
    base_url: str | None,
    *,
    outbound: OutboundPolicy | None = None,
) -> Any | None:
    """An external provider of `kind` with the given key, or None (cannot do that kind, or the SDK
    refuses the configuration). `outbound` checks its every connection (users' own keys)."""
    entry = EXTERNAL.get((kind, name))
    if entry is None:
        return None
    try:
        return _class(entry.cls)(
            model=getattr(settings, entry.model_setting),
            api_key=api_key,
            base_url=base_url,
            timeout=settings.ai_timeout_seconds,
            outbound=outbound,
            **(entry.options(settings) if entry.options else {}),
        )
    except (ProviderUnavailableError, TypeError) as exc:
        log.warning("%s provider %s not available: %s", kind, name, exc)
    return None


def own_key_policy(settings: Any) -> OutboundPolicy:
    """Where connections made with a user's own key may go: public addresses only (unless
    AUTOVIDEO_ALLOW_PRIVATE_PROVIDER_URLS), on AUTOVIDEO_OUTBOUND_ALLOWED_PORTS."""
    return OutboundPolicy(allow_private=settings.private_provider_urls_allowed, ports=settings.outbound_ports)


def make_own(kind: str, name: str, settings: Any, api_key: str, base_url: str | None) -> Any | None:
    """A provider on a user's own key: every connection is checked when it is made (own_key_policy,
    providers/net.py); with the user's own base URL, its failures are reported without detail
    (providers/ai/opaque.py), so the generation log cannot probe what listens there."""
    from providers.ai.opaque import OpaqueErrors

    provider = make_external(kind, name, settings, api_key, base_url, outbound=own_key_policy(settings))
    return OpaqueErrors(provider) if provider is not None and base_url else provider


def _offline(kind: str) -> Any:
    return getattr(importlib.import_module("providers.ai.offline"), OFFLINE[kind][1])()


def _build(kind: str, settings: Any, names: list[str]) -> list[Any]:
    out: list[Any] = []
    offline_name = OFFLINE[kind][0]
    for name in names:
        if name == offline_name:
            out.append(_offline(kind))
            continue
        key, base_url = server_key(settings, name)
        if key and name in CAPABLE[kind]:
            provider = make_external(kind, name, settings, key, base_url)
            if provider is not None:
                out.append(provider)
    if not any(getattr(p, "name", "") == offline_name for p in out):
        out.append(_offline(kind))  # the last resort always works
    return out


def build_text_providers(settings: Any) -> list[TextProvider]:
    return _build("text", settings, list(settings.text_providers))


def build_image_providers(settings: Any) -> list[ImageProvider]:
    return _build("image", settings, list(settings.image_providers))


def build_speech_providers(settings: Any) -> list[SpeechProvider]:
    return _build("speech", settings, list(settings.speech_providers))
