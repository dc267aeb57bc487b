"""Publishing progress events: one channel per video and one per user."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from domain.pipeline import Event

if TYPE_CHECKING:
    from runtime.resources import Resources


def video_channel(resources: Resources, video_id: uuid.UUID) -> str:
    return str(resources.key("video", str(video_id)))


def user_channel(resources: Resources, user_id: uuid.UUID) -> str:
    return str(resources.key("user", str(user_id)))


async def publish_event(resources: Resources, event: Event) -> None:
    bus = resources.events
    if bus is None:
        return
    payload = event.to_json()
    await bus.publish(video_channel(resources, event.video_id), payload)
    await bus.publish(user_channel(resources, event.user_id), payload)
