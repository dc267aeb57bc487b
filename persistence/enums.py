"""Stored vocabularies. The domain re-exports these; the schema maps them to GraphQL enums."""

from enum import StrEnum


class Role(StrEnum):
    GUEST = "guest"
    USER = "user"
    CREATOR = "creator"
    PREMIUM = "premium"
    ADMIN = "admin"
    SUPER_ADMIN = "super_admin"


class VideoStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (VideoStatus.COMPLETED, VideoStatus.FAILED, VideoStatus.CANCELLED)


class PipelineStage(StrEnum):
    SCRIPT = "script"
    NARRATION = "narration"
    VISUALS = "visuals"
    ASSEMBLY = "assembly"
    UPLOAD = "upload"


class StageStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class AspectRatio(StrEnum):
    PORTRAIT = "portrait"
    LANDSCAPE = "landscape"
    SQUARE = "square"


class GenerationType(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"


class GenerationStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    CACHED = "cached"


class QuotaPeriod(StrEnum):
    DAILY = "daily"
    MONTHLY = "monthly"


class PublicationStatus(StrEnum):
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
