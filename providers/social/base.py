"""Social platform adapters: upload a finished video, read its statistics.

An adapter speaks one platform's API. It raises TransientSocialError for what may work on a
retry (timeouts, 429, 5xx, quota windows) and PermanentSocialError for what will not until
the user acts (an expired or revoked token, a rejected video); both carry a message a user
can act on, with no tokens or internals in it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol


class SocialError(Exception):
    transient = False

    def __init__(self, message: str, *, platform: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.status = status


class TransientSocialError(SocialError):
    transient = True


class PermanentSocialError(SocialError):
    transient = False


@dataclass(frozen=True)
class Credentials:
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    account_id: str = ""

    def __repr__(self) -> str:  # never print tokens
        return f"Credentials(account_id={self.account_id!r})"


@dataclass(frozen=True)
class UploadRequest:
    path: Path
    title: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    content_type: str = "video/mp4"
    privacy: str = "public"
    resume_session: str | None = None
    """An upload session opened by an earlier attempt: asked first, so a finished upload is
    never sent twice and a partial one continues where it stopped."""
    on_session: Callable[[str], Awaitable[None]] | None = None
    """Called with a new session's URL before any byte is sent, so the caller can keep it."""


@dataclass(frozen=True)
class UploadResult:
    external_id: str
    external_url: str


@dataclass(frozen=True)
class PlatformStats:
    views: int = 0
    likes: int = 0
    dislikes: int = 0
    shares: int = 0
    comments: int = 0
    watch_time_seconds: int = 0


class PlatformAdapter(Protocol):
    platform: str

    async def upload(self, credentials: Credentials, request: UploadRequest) -> UploadResult: ...

    async def statistics(self, credentials: Credentials, external_ids: list[str]) -> dict[str, PlatformStats]:
        """Current totals per external id; ids the platform no longer knows are left out."""
        ...
