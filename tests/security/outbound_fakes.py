"""Stand-ins for the internet in the outbound (SSRF) tests: this machine has none.

`FakeInternet` replaces DNS and the routes to public addresses on the test's event loop (the
loop's `getaddrinfo` and `create_connection`, which the SDKs' transports use under anyio, before
and after the fix alike): a host name gets the answers a test gives it, in turn; a connection to
a routed (address, port) reaches a local fake server instead; an unrouted public address refuses
the connection at once. Everything else (PostgreSQL, Redis, loopback) goes through untouched, so a
request that really goes to 127.0.0.1 reaches whatever local server listens there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tests.providers.external.ai_ext_fakes import FakeServer, Recorded, Responder

PUBLIC = "1.1.1.1"
"""A public address that stands for "some host on the internet"; never really contacted."""
OTHER_PUBLIC = "1.0.0.1"


@dataclass
class FakeInternet:
    dns: dict[str, list[list[str]]] = field(default_factory=dict)
    routes: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    connects: list[tuple[str, int]] = field(default_factory=list)

    def answer(self, host: str, *answers: list[str]) -> None:
        """Successive answers for `host` (the last one repeats)."""
        self.dns[host.lower()] = [list(a) for a in answers]

    def route(self, address: str, port: int, server: FakeServer) -> None:
        """Connections to address:port reach `server`."""
        self.routes[(address, port)] = ("127.0.0.1", server.port)

    def install(self, loop: asyncio.AbstractEventLoop, monkeypatch: Any) -> None:
        real_getaddrinfo = loop.getaddrinfo
        real_connect = loop.create_connection

        async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else str(host)
            answers = self.dns.get(name.lower())
            if answers is None:
                return await real_getaddrinfo(host, port, *args, **kwargs)
            self.lookups.append(name)
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            out: list[
                tuple[
                    socket.AddressFamily,
                    socket.SocketKind,
                    int,
                    str,
                    tuple[str, int] | tuple[str, int, int, int],
                ]
            ] = []
            for address in answer:
                if ":" in address:
                    out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port or 0), 0, 0)))
                else:
                    out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0))))
            return out

        async def create_connection(factory: Any, host: Any = None, port: Any = None, **kwargs: Any) -> Any:
            if host is not None and port is not None:
                self.connects.append((str(host), int(port)))
                target = self.routes.get((str(host), int(port)))
                if target is not None:
                    return await real_connect(factory, *target, **kwargs)
                try:
                    public = ipaddress.ip_address(str(host)).is_global
                except ValueError:
                    public = False
                if public:
                    raise ConnectionRefusedError(f"[fake internet] nothing at {host}:{port}")
            return await real_connect(factory, host, port, **kwargs)

        monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(loop, "create_connection", create_connection)


# ------------------------------------------------------------------ local servers


def serve(app: Any, **options: Any) -> tuple[int, Callable[[], None]]:
    """Run an ASGI app on 127.0.0.1 in a thread (uvicorn options, e.g. ssl_certfile)."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="error",
        lifespan="off",
        timeout_graceful_shutdown=1,
        **options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)

    return port, stop


def start_fake(**options: Any) -> tuple[FakeServer, Callable[[], None]]:
    fake = FakeServer()
    fake.port, stop = serve(fake.app(), **options)
    return fake, stop


def reply_redirect(location: str, status: int = 307) -> Responder:
    async def respond(request: Request, rec: Recorded) -> Response:
        return Response(status_code=status, headers={"location": location})

    return respond


def reply_bytes(body: bytes, media_type: str = "image/png", close: bool = False) -> Responder:
    async def respond(request: Request, rec: Recorded) -> Response:
        headers = {"connection": "close"} if close else None
        return Response(body, media_type=media_type, headers=headers)

    return respond


@dataclass
class Stream:
    """A response body of `total` bytes produced lazily; `produced` counts what was generated."""

    total: int
    chunk: int = 256 * 1024
    produced: int = 0

    def responder(self, declare_length: bool = False) -> Responder:
        async def body() -> Any:
            while self.produced < self.total:
                self.produced += self.chunk
                yield b"\x00" * self.chunk
                await asyncio.sleep(0)

        async def respond(request: Request, rec: Recorded) -> Response:
            headers = {"content-length": str(self.total)} if declare_length else None
            return StreamingResponse(body(), media_type="image/png", headers=headers)

        return respond


# ------------------------------------------------------------------ TLS


def tls_files(directory: Path, hostname: str) -> tuple[Path, Path, Path]:
    """A CA and a certificate for `hostname` signed by it: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outbound test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path
