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

    def __reduce__(self) -> tuple[object, ...]:
        # Renders run in worker processes (media.processes): the error must cross back whole.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[MediaError], args: tuple[object, ...], state: dict[str, object]) -> MediaError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class InvalidMediaError(MediaError):
    """An input is missing, unreadable, corrupt or empty (e.g. zero-length narration)."""


class RenderTimeoutError(MediaError):
    """ffmpeg ran past the time budget and was killed."""


class RenderCancelled(MediaError):
    """The caller's cancel event was set; ffmpeg was killed."""


class RenderFailedError(MediaError):
    """ffmpeg exited with an error that is not attributable to a bad input."""
