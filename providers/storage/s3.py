"""Objects in an S3-compatible bucket (AWS S3, MinIO, R2, …) through aioboto3.

One aioboto3 Session per storage; one long-lived client per event loop, opened on first use
and closed by `aclose()` (register it as one of resources.closers). Downloads are
presigned GET URLs that expire. Every S3 PUT is atomic, so readers never see half an object;
big files go up as a multipart upload, which becomes visible only when completed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aioboto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from providers.storage.base import StorageError
from providers.storage.local import _safe_key

if TYPE_CHECKING:
    from runtime.settings import Settings

MULTIPART_THRESHOLD = 16 * 1024 * 1024
MULTIPART_CHUNK = 8 * 1024 * 1024
DELETE_BATCH = 1000  # the most keys S3 accepts in one DeleteObjects call
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 one (RFC 6266 / 5987)."""
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", filename).strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class S3Storage:
    def __init__(
        self,
        settings: Settings,
        *,
        create_bucket: bool | None = None,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        multipart_chunk: int = MULTIPART_CHUNK,
    ) -> None:
        if not settings.s3_bucket:
            raise StorageError("AUTOVIDEO_S3_BUCKET must be set when AUTOVIDEO_STORAGE_BACKEND is s3")
        self.bucket = settings.s3_bucket
        self.endpoint_url = settings.s3_endpoint_url or None
        self.region = settings.s3_region or None
        secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
        self._session = aioboto3.Session(
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=secret,
            region_name=self.region,
        )
        self._config = Config(
            signature_version="s3v4",
            # A custom endpoint (MinIO, a local server) rarely has per-bucket DNS names.
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
            retries={"max_attempts": 4, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        )
        # Creating the bucket is opt-in (AUTOVIDEO_S3_CREATE_BUCKET): production buckets are
        # provisioned with their policies, never conjured by the app.
        self.create_bucket = bool(create_bucket if create_bucket is not None else settings.s3_create_bucket)
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold, multipart_chunksize=multipart_chunk
        )
        self._clients: dict[asyncio.AbstractEventLoop, tuple[contextlib.AsyncExitStack, Any]] = {}
        self._lock = asyncio.Lock()
        self._bucket_checked = False
        self.delete_batch = DELETE_BATCH
        self.list_page_size = 1000

    # ---------------------------------------------------------------- client

    async def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is not None:
            return found[1]
        async with self._lock:
            found = self._clients.get(loop)
            if found is not None:
                return found[1]
            stack = contextlib.AsyncExitStack()
            client = await stack.enter_async_context(
                self._session.client("s3", endpoint_url=self.endpoint_url, config=self._config)
            )
            try:
                if self.create_bucket and not self._bucket_checked:
                    await self._ensure_bucket(client)
            except BaseException:
                await stack.aclose()
                raise
            self._clients[loop] = (stack, client)  # published only once the bucket is there
            return client

    async def _ensure_bucket(self, client: Any) -> None:
        try:
            await client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise StorageError(f"cannot reach bucket {self.bucket} ({_code(exc)})") from None
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if self.region and self.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            try:
                await client.create_bucket(**kwargs)
            except ClientError as exc2:
                if _code(exc2) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise StorageError(f"cannot create bucket {self.bucket} ({_code(exc2)})") from None
        self._bucket_checked = True

    async def aclose(self) -> None:
        """Close the clients of every event loop this storage was used on."""
        clients, self._clients = self._clients, {}
        for stack, _ in clients.values():
            with contextlib.suppress(Exception):
                await stack.aclose()

    def _fail(self, key: str, exc: Exception) -> StorageError:
        if isinstance(exc, ClientError) and _code(exc) in _MISSING:
            return StorageError(f"missing object {key}")
        code = _code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        return StorageError(f"storage request for {key} failed ({code})")

    # ---------------------------------------------------------------- writes

    async def put_file(self, key: str, source: Path, content_type: str) -> int:
        key = _safe_key(key)
        size = (await asyncio.to_thread(source.stat)).st_size
        client = await self._client()
        try:
            # Multipart above the threshold: parts upload in parallel, the object appears at completion.
            await client.upload_file(
                str(source), self.bucket, key, ExtraArgs={"ContentType": content_type}, Config=self._transfer
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(key, exc) from None
        return size

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        key = _safe_key(key)
        client = await self._client()
        try:
            await client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(key, exc) from None
        return len(data)

    # ---------------------------------------------------------------- reads

    async def get_to_path(self, key: str, dest: Path) -> Path:
        """Stream to a temporary file beside `dest`, then rename: `dest` is never half-written."""
        key = _safe_key(key)
        client = await self._client()
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            resp = await client.get_object(Bucket=self.bucket, Key=key)
            body = resp["Body"]
            try:
                with open(tmp, "wb") as fh:  # noqa: ASYNC230 - buffered writes between awaited chunks
                    async for chunk in body.iter_chunks(1024 * 1024):
                        fh.write(chunk)
            finally:
                body.close()
            os.replace(tmp, dest)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(key, exc) from None
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    async def get_bytes(self, key: str) -> bytes:
        key = _safe_key(key)
        client = await self._client()
        try:
            resp = await client.get_object(Bucket=self.bucket, Key=key)
            body = resp["Body"]
            try:
                return bytes(await body.read())
            finally:
                body.close()
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(key, exc) from None

    async def _head(self, key: str) -> dict[str, Any] | None:
        key = _safe_key(key)
        client = await self._client()
        try:
            return dict(await client.head_object(Bucket=self.bucket, Key=key))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._fail(key, exc) from None
        except BotoCoreError as exc:
            raise self._fail(key, exc) from None

    async def exists(self, key: str) -> bool:
        return await self._head(key) is not None

    async def size(self, key: str) -> int | None:
        head = await self._head(key)
        return int(head["ContentLength"]) if head is not None else None

    async def delete_prefix(self, prefix: str) -> int:
        """The object `prefix` itself and everything under `prefix/` (not `prefix-other/…`),
        listed page by page and deleted in batches of up to 1000."""
        prefix = _safe_key(prefix)
        client = await self._client()
        deleted = 0
        batch: list[dict[str, str]] = []

        async def flush() -> None:
            nonlocal deleted, batch
            if not batch:
                return
            resp = await client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            errors = resp.get("Errors") or []
            if errors:
                raise StorageError(f"could not delete {len(errors)} object(s) under {prefix}")
            deleted += len(batch)
            batch = []

        try:
            paginator = client.get_paginator("list_objects_v2")
            async for page in paginator.paginate(
                Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": self.list_page_size}
            ):
                for obj in page.get("Contents") or []:
                    k = obj["Key"]
                    if k == prefix or k.startswith(prefix + "/"):
                        batch.append({"Key": k})
                        if len(batch) >= self.delete_batch:
                            await flush()
            await flush()
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(prefix, exc) from None
        return deleted

    async def url(self, key: str, *, expires_in: int = 3600, filename: str | None = None) -> str:
        """A presigned GET (SigV4, at most 7 days)."""
        key = _safe_key(key)
        client = await self._client()
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        return str(
            await client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=max(1, min(int(expires_in), 7 * 24 * 3600))
            )
        )

    async def ping(self) -> None:
        client = await self._client()
        try:
            await client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            code = _code(exc) if isinstance(exc, ClientError) else type(exc).__name__
            raise StorageError(f"bucket {self.bucket} is not reachable ({code})") from None
