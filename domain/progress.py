"""Publishing progress events: one channel per video and one per user."""

from __future__ import annotations

import uuid
from typing import Any

from domain.pipeline import Event


def video_channel(resources: Any, video_id: uuid.UUID) -> str:
    return str(resources.key("video", str(video_id)))


def user_channel(resources: Any, user_id: uuid.UUID) -> str:
    return str(resources.key("user", str(user_id)))


async def publish_event(resources: Any, event: Event) -> None:
    bus = resources.extras.get("events")
    if bus is None:
        return
    payload = event.to_json()
    await bus.publish(video_channel(resources, event.video_id), payload)
    await bus.publish(user_channel(resources, event.user_id), payload)
