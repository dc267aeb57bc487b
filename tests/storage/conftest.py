"""A real S3 endpoint for the tests: moto's server on 127.0.0.1, one per test worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.settings import Settings


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_settings(endpoint: str, data_dir: Path, bucket: str | None = None, **kw: Any) -> Settings:
    return Settings(
        environment="test",
        data_dir=data_dir,
        storage_backend="s3",
        s3_bucket=bucket or f"av-{uuid.uuid4().hex[:12]}",
        s3_endpoint_url=endpoint,
        s3_region="us-east-1",
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
        secret_key="s" * 40,
        _env_file=None,
        **kw,
    )


@pytest.fixture
async def s3_storage(s3_endpoint: str, tmp_path: Path) -> AsyncIterator[Any]:
    from providers.storage.s3 import S3Storage

    storage = S3Storage(
        s3_settings(s3_endpoint, tmp_path / "data"),
        create_bucket=True,
        multipart_threshold=5 * 1024 * 1024,
        multipart_chunk=5 * 1024 * 1024,
    )
    yield storage
    await storage.aclose()


class PresignedS3Transport(httpx.AsyncBaseTransport):
    """httpx transport in front of the S3 server that refuses a presigned GET the way S3 does
    (403) when its SigV4 query signature does not verify or it has expired. moto serves
    presigned URLs without checking either, so this is the check a real bucket makes."""

    def __init__(self, secret_key: str) -> None:
        self.secret = secret_key
        self.inner = httpx.AsyncHTTPTransport()

    def verify(self, url: Any, now: float | None = None) -> bool:
        import hashlib
        import hmac
        import time
        from datetime import datetime
        from urllib.parse import quote, unquote

        pairs = [[*p.split("=", 1), ""] for p in url.query.decode().split("&") if p]
        params = {unquote(p[0]): unquote(p[1]) for p in pairs}
        try:
            signature, amz_date, expires = (
                params["X-Amz-Signature"],
                params["X-Amz-Date"],
                int(params["X-Amz-Expires"]),
            )
            scope = params["X-Amz-Credential"].split("/", 1)[1]
        except (KeyError, ValueError, IndexError):
            return False
        issued = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        if (now if now is not None else time.time()) > issued + expires:
            return False
        query = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
            for k, v in sorted(params.items())
            if k != "X-Amz-Signature"
        )
        host = url.host + (f":{url.port}" if url.port else "")
        canonical = (
            f"GET\n{url.raw_path.split(b'?')[0].decode()}\n{query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD"
        )
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = ("AWS4" + self.secret).encode()
        for part in scope.split("/"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if (
            request.method == "GET"
            and "X-Amz-Signature" in request.url.query.decode()
            and not self.verify(request.url)
        ):
            return httpx.Response(403, content=b"<Error><Code>AccessDenied</Code></Error>", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
