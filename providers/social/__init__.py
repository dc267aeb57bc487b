"""Social platform adapters, by platform name."""

from __future__ import annotations

from providers.social.base import PlatformAdapter


def build_adapters(youtube_base_url: str) -> dict[str, PlatformAdapter]:
    """Every platform this product can publish to, configured."""
    from providers.social.youtube import YouTubeAdapter

    return {"youtube": YouTubeAdapter(youtube_base_url)}
