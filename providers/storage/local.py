"""Files on local disk, served by the app at /media/<key> with an expiring HMAC signature."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

from providers.storage.base import StorageError


def _safe_key(key: str) -> str:
    parts = [p for p in key.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise StorageError("invalid storage key")
    return "/".join(parts)


# What /media answers with: the type follows the key's extension, never the request. Unknown
# kinds are served as opaque bytes (and, with nosniff, never rendered by a browser).
MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".flac": "audio/flac",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip",
    ".json": "application/json",
}
OPAQUE = "application/octet-stream"


def media_type(key: str) -> str:
    dot = key.rfind(".")
    return MEDIA_TYPES.get(key[dot:].lower(), OPAQUE) if dot > key.rfind("/") else OPAQUE


def sign(secret: str, key: str, expires: int, filename: str | None = None) -> str:
    """HMAC over the key, the expiry and (when the link names one) the download's filename, so
    none of them can be changed in a link we issued."""
    msg = f"{key}\n{expires}" + (f"\nfilename={filename}" if filename else "")
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()


def verify(
    secret: str,
    key: str,
    expires: int,
    signature: str,
    now: float | None = None,
    *,
    filename: str | None = None,
) -> bool:
    if expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(sign(secret, key, expires, filename), signature)


class LocalStorage:
    def __init__(self, root: Path, base_url: str, secret: str) -> None:
        self.root = root.resolve()
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.root.mkdir(parents=True, exist_ok=True)

    def path_of(self, key: str) -> Path:
        path = (self.root / _safe_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise StorageError("invalid storage key")
        return path

    def _write(self, key: str, writer) -> int:  # type: ignore[no-untyped-def]
        dest = self.path_of(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
        try:
            writer(tmp)
            os.replace(tmp, dest)  # atomic: a reader sees the old file or the whole new one
        finally:
            tmp.unlink(missing_ok=True)
        return dest.stat().st_size

    async def put_file(self, key: str, source: Path, content_type: str) -> int:
        return await asyncio.to_thread(self._write, key, lambda tmp: shutil.copyfile(source, tmp))

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        return await asyncio.to_thread(self._write, key, lambda tmp: tmp.write_bytes(data))

    async def get_to_path(self, key: str, dest: Path) -> Path:
        src = self.path_of(key)
        if not src.exists():
            raise StorageError(f"missing object {key}")
        await asyncio.to_thread(shutil.copyfile, src, dest)
        return dest

    async def get_bytes(self, key: str) -> bytes:
        src = self.path_of(key)
        if not src.exists():
            raise StorageError(f"missing object {key}")
        return await asyncio.to_thread(src.read_bytes)

    async def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    async def size(self, key: str) -> int | None:
        p = self.path_of(key)
        return p.stat().st_size if p.is_file() else None

    async def delete_prefix(self, prefix: str) -> int:
        target = self.path_of(prefix)
        if target.is_file():
            target.unlink()
            return 1
        if not target.is_dir():
            return 0
        count = sum(1 for p in target.rglob("*") if p.is_file())
        await asyncio.to_thread(shutil.rmtree, target, True)
        return count

    async def url(self, key: str, *, expires_in: int = 3600, filename: str | None = None) -> str:
        key = _safe_key(key)
        expires = int(time.time()) + expires_in
        query = {"exp": str(expires), "sig": sign(self.secret, key, expires, filename)}
        if filename:
            query["filename"] = filename
        return f"{self.base_url}/media/{quote(key)}?{urlencode(query)}"

    async def ping(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise StorageError("storage folder is not writable")
