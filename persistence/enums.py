"""Stored vocabularies. The domain re-exports these; the schema maps them to GraphQL enums."""

from enum import Enum


class Role(str, Enum):
    GUEST = "guest"
    USER = "user"
    CREATOR = "creator"
    PREMIUM = "premium"
    ADMIN = "admin"
    SUPER_ADMIN = "super_admin"


class VideoStatus(str, Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (VideoStatus.COMPLETED, VideoStatus.FAILED, VideoStatus.CANCELLED)


class PipelineStage(str, Enum):
    SCRIPT = "script"
    NARRATION = "narration"
    VISUALS = "visuals"
    ASSEMBLY = "assembly"
    UPLOAD = "upload"


class StageStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class AspectRatio(str, Enum):
    PORTRAIT = "portrait"
    LANDSCAPE = "landscape"
    SQUARE = "square"


class GenerationType(str, Enum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"


class GenerationStatus(str, Enum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    CACHED = "cached"


class QuotaPeriod(str, Enum):
    DAILY = "daily"
    MONTHLY = "monthly"


class PublicationStatus(str, Enum):
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"


class SubscriptionStatus(str, Enum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
