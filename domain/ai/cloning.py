"""Voice cloning: a new ElevenLabs voice from one audio sample."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.ai.service import AIService, close_providers
from domain.errors import BadInput
from domain.uploads import audio_type
from providers.ai.base import (
    ProviderError,
    Voice,
)
from providers.ai.registry import (
    make_external,
    make_own,
)

if TYPE_CHECKING:
    from domain.identity import Principal
    from runtime.resources import Resources


MAX_SAMPLE_BYTES = 10 * 1024 * 1024


async def clone_voice(
    resources: Resources, principal: Principal, name: str, sample: bytes, filename: str
) -> Voice:
    """A new ElevenLabs voice from one audio sample, with the user's own ElevenLabs key or, for
    users entitled to the server's providers, the server's key. The sample's type is read from
    its content; the type the client declared is not trusted."""
    from domain.permissions import Permission

    user_id = principal.require(Permission.AI_GENERATE_AUDIO)
    label = (name or "").strip()
    if not 1 <= len(label) <= 100:
        raise BadInput("Name the voice (1 to 100 characters).", field="name")
    if not sample:
        raise BadInput("The sample is empty.", field="sample")
    if len(sample) > MAX_SAMPLE_BYTES:
        raise BadInput("The sample is larger than 10 MB.", field="sample")
    ctype = audio_type(sample)
    if ctype is None:
        raise BadInput("Send the sample as an audio file (MP3, WAV, M4A, OGG, WebM or FLAC).", field="sample")
    service = AIService.for_resources(resources)
    access = await service.access(user_id)
    if "elevenlabs" in access.keys:
        key, base_url = access.keys["elevenlabs"]
    elif access.external and resources.settings.elevenlabs_api_key:
        key, base_url = (
            resources.settings.elevenlabs_api_key.get_secret_value(),
            resources.settings.elevenlabs_base_url,
        )
    else:
        raise BadInput(
            "Voice cloning uses ElevenLabs: add your ElevenLabs key (setProviderKey) or upgrade to Premium.",
            field="sample",
        )
    if "elevenlabs" in access.keys:
        provider = make_own("speech", "elevenlabs", resources.settings, key, base_url)
    else:
        provider = make_external("speech", "elevenlabs", resources.settings, key, base_url)
    if provider is None:
        raise BadInput("ElevenLabs is not available for this account.", field="sample")
    try:
        voice: Voice = await provider.clone_voice(
            label, sample, filename=filename or "sample", content_type=ctype
        )
    except ProviderError as exc:
        raise BadInput(f"ElevenLabs could not clone the voice: {exc.message}", field="sample") from None
    finally:
        await close_providers([provider])
    await resources.redis.delete(resources.key("voices", str(user_id)))  # the new voice lists at once
    return voice
