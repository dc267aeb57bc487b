"""Render errors.

`message` is safe to show to a user (no server paths, no ffmpeg dump); `detail` keeps the
summarised ffmpeg stderr for logs.
"""

from __future__ import annotations


class MediaError(Exception):
    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class InvalidMediaError(MediaError):
    """An input is missing, unreadable, corrupt or empty (e.g. zero-length narration)."""


class RenderTimeoutError(MediaError):
    """ffmpeg ran past the time budget and was killed."""


class RenderCancelled(MediaError):
    """The caller's cancel event was set; ffmpeg was killed."""


class RenderFailedError(MediaError):
    """ffmpeg exited with an error that is not attributable to a bad input."""
