"""Object storage: where finished videos, thumbnails, captions and stage outputs live.

Keys are relative paths ("videos/<id>/v1/video.mp4"). Storage knows no rules:
callers decide who may read a key, then ask for a URL for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class StorageError(Exception):
    pass


class Storage(Protocol):
    async def put_file(self, key: str, source: Path, content_type: str) -> int:
        """Store a file under `key` atomically (readers never see half a file); returns its size."""
        ...

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int: ...

    async def get_to_path(self, key: str, dest: Path) -> Path: ...

    async def get_bytes(self, key: str) -> bytes: ...

    async def exists(self, key: str) -> bool: ...

    async def size(self, key: str) -> int | None: ...

    async def delete_prefix(self, prefix: str) -> int: ...

    async def url(self, key: str, *, expires_in: int = 3600, filename: str | None = None) -> str:
        """A URL a client can GET until it expires."""
        ...

    async def ping(self) -> None: ...
