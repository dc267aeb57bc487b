"""Social platform adapters, by platform name."""

from __future__ import annotations

from typing import Any

from providers.social.base import PlatformAdapter


def adapters(resources: Any) -> dict[str, PlatformAdapter]:
    """The adapters of this deployment; tests put fakes in resources.extras["social_adapters"]."""
    found = resources.extras.get("social_adapters")
    if found is None:
        from providers.social.youtube import YouTubeAdapter

        settings = resources.settings
        found = {"youtube": YouTubeAdapter(settings.youtube_base_url)}
        resources.extras["social_adapters"] = found
    return dict(found)
