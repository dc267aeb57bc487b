"""The one configuration object. Every knob is an environment variable with the
AUTOVIDEO_ prefix (or a line in `.env`), e.g. AUTOVIDEO_DATABASE_URL."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# A development secret is generated per data folder (see `secret_file`), so a
# fresh clone runs without configuration but no two installs share a key.
_MIN_SECRET_BYTES = 32


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTOVIDEO_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("./data")
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    """`json`: one JSON object a line: requestId, traceId, userId, operation (runtime/log_fields.py)."""

    # Services. Empty means "start an embedded one under data_dir".
    database_url: str | None = None
    redis_url: str | None = None
    database_pool_size: int = Field(default=20, ge=1, le=500)
    """PostgreSQL connections per process (API and worker each have a pool)."""
    redis_prefix: str = "av"
    """Prefix of every Redis key and channel we use: queues, revocations, rate limits, events."""

    # Storage: "local" keeps files under data_dir/media and serves them from /media;
    # "s3" uses an S3-compatible bucket through aioboto3.
    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path | None = None
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_create_bucket: bool = False
    """Create the bucket at startup when it is missing (handy for MinIO and local tests)."""
    public_base_url: str = "http://127.0.0.1:8000"
    """How clients reach this API; media URLs are built on it."""

    # Secrets.
    secret_key: SecretStr | None = None
    """Signs tokens (HS256) and media URLs. Generated per data folder in development."""
    encryption_key: SecretStr | None = None
    """Fernet key(s) for stored third-party tokens and API keys, comma-separated, newest first."""
    jwt_algorithm: Literal["HS256", "RS256", "ES256"] = "HS256"
    jwt_private_key: SecretStr | None = None
    jwt_public_key: str | None = None
    access_token_minutes: float = 15
    """Fractions allowed (tests shorten it to seconds)."""
    refresh_token_days: int = 30

    # HTTP.
    cors_origins: list[str] = Field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 8000
    graphiql: bool | None = None
    """Serve GraphiQL at GET /graphql. Default: on, except in production."""
    introspection: bool | None = None
    """Answer __schema/__type queries. Default: on, except in production."""
    studio_dir: Path | None = None
    """The Studio's static build, served at /. Default: web/build of the checkout, when built."""
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Addresses (or networks, e.g. 10.0.0.0/8) of reverse proxies whose X-Forwarded-For and
    X-Forwarded-Proto are believed; comma-separated. Default none: the client address is the
    socket's peer, whatever the headers say."""
    max_query_depth: int = 12
    max_query_tokens: int = 2000
    max_query_aliases: int = 50
    # Request limits (graphql_runtime/request_limits.py); over a size cap: 413 PAYLOAD_TOO_LARGE.
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    """Largest JSON body (and GET query string) /graphql reads; it stops reading past it."""
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Largest file in a multipart upload (voice samples)."""
    max_upload_files: int = Field(default=1, ge=1)
    """Files in one multipart request."""
    max_request_items: int = Field(default=10_000, ge=100)
    """List items plus object members in one request's JSON (variables included)."""
    max_request_depth: int = Field(default=32, ge=4)
    """Nesting of one request's JSON; deeper answers 400 BAD_REQUEST."""
    max_ws_message_bytes: int = Field(default=1024 * 1024, ge=1024)
    """Largest websocket message; a bigger one closes the socket with 1009."""
    operations_per_minute: int = 600
    """GraphQL operations a signed-in user may run per minute (0: no limit)."""
    anonymous_operations_per_minute: int = 120
    """The same for each anonymous client address."""
    max_query_cost: int = Field(default=10_000, ge=0)
    """Largest static cost of one operation (graphql_runtime/query_cost.py); over it QUERY_TOO_COMPLEX
    before anything runs (0: no maximum)."""
    cost_per_minute: int = Field(default=50_000, ge=0)
    """Query cost a signed-in user, and each API key apart, may spend per minute: a bucket of
    this many points refilled continuously (domain/rate_budget.py; 0: no cost limit)."""
    anonymous_cost_per_minute: int = Field(default=10_000, ge=0)
    """The same for each anonymous client address."""
    subscriber_queue_size: int = Field(default=256, ge=4, le=100_000)
    """Events a websocket subscriber may fall behind before it is dropped (a client that stopped
    reading); queued events are shared, so a deep queue costs pointers, not copies."""
    max_videos_in_flight: int = 5
    """Videos one user may have pending or processing at once."""
    persisted_queries_only: bool = False
    """When true, non-persisted documents are refused (PERSISTED_QUERY_NOT_ALLOWED) for API-key callers."""
    persisted_query_max_bytes: int = 16_384
    """Largest document APQ stores (larger ones still run, they are just not stored)."""
    persisted_queries_per_day: int = 100
    """New APQ documents one caller (user, or anonymous address) may store per day."""
    persisted_query_bytes_per_day: int = 256 * 1024
    """Bytes of new APQ documents one caller may store per day."""

    # Workers.
    worker_concurrency: int = 2
    stage_timeout_seconds: int = 900
    job_max_tries: int = 5
    reconcile_interval_seconds: int = 60
    # The embedded Redis is restarted this long after it died (doubling while it keeps dying).
    embedded_redis_restart_seconds: float = Field(default=1.0, ge=0.0)

    # AI providers (empty keys mean: not configured; the offline ones always are).
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_text_model: str = "gpt-4o-mini"
    openai_image_model: str = "gpt-image-1"
    openai_speech_model: str = "gpt-4o-mini-tts"
    openai_json_mode: bool = True
    gemini_api_key: SecretStr | None = None
    gemini_base_url: str | None = None
    gemini_text_model: str = "gemini-2.5-flash"
    gemini_image_model: str = "imagen-4.0-generate-001"
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-sonnet-4-6"
    elevenlabs_api_key: SecretStr | None = None
    elevenlabs_base_url: str | None = None
    elevenlabs_model: str = "eleven_multilingual_v2"
    ai_timeout_seconds: float = 60.0
    allow_private_provider_urls: bool | None = None
    """May users' own provider base URLs point at private/loopback addresses? Default: not in production."""
    outbound_allowed_ports: Annotated[list[int] | None, NoDecode] = None
    """Ports connections on a user's behalf (own provider base URLs) may use, e.g. `80,443,8443`.
    Default: 80 and 443 in production, any port otherwise."""
    ai_cache_ttl_seconds: int = 7 * 24 * 3600
    text_providers: list[str] = Field(default_factory=lambda: ["openai", "anthropic", "gemini", "offline"])
    image_providers: list[str] = Field(default_factory=lambda: ["openai", "gemini", "procedural"])
    speech_providers: list[str] = Field(default_factory=lambda: ["elevenlabs", "openai", "piper"])

    # Social platforms (adapters in providers/social; the base URL is overridable for testing).
    youtube_base_url: str = "https://www.googleapis.com"

    # Rendering.
    render_preset: str = "veryfast"
    render_crf: int = 23
    render_threads: int | None = None

    # Tracing (runtime/telemetry.py): off unless an exporter is configured.
    otel_exporter_otlp_endpoint: str | None = None
    """OTLP/HTTP collector, e.g. http://otel-collector:4318 (/v1/traces is added when missing)."""
    otel_console: bool = False
    """Print finished spans to stdout (debugging)."""
    otel_service_name: str = "autovideo"
    otel_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of new traces kept; a request carrying a sampled traceparent is always kept."""

    # Mail: a folder outbox by default, SMTP when smtp_host is set.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Auto Video <no-reply@autovideo.local>"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, v: object) -> object:
        if isinstance(v, str):
            v = v.strip()
            if v.startswith("["):
                import json

                return json.loads(v)
            return [item.strip() for item in v.split(",") if item.strip()]
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        import ipaddress

        normalised = []
        for item in v:
            try:
                if "/" in item:
                    normalised.append(str(ipaddress.ip_network(item, strict=False)))
                else:
                    normalised.append(str(ipaddress.ip_address(item)))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return normalised

    @model_validator(mode="after")
    def _production_defaults(self) -> Settings:
        """GraphiQL and introspection are for development: off in production unless asked for."""
        for name in ("graphiql", "introspection"):
            if getattr(self, name) is None:
                setattr(self, name, self.environment != "production")
                self.__pydantic_fields_set__.discard(name)  # still the default, not a choice
        return self

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, v: str | None) -> str | None:
        if v and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return v or None

    @field_validator("outbound_allowed_ports", mode="before")
    @classmethod
    def _ports_list(cls, v: object) -> object:
        if isinstance(v, str):
            text = v.strip().strip("[]")
            return [p.strip() for p in text.split(",") if p.strip()] if text else None
        return v

    @field_validator("outbound_allowed_ports")
    @classmethod
    def _ports_range(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(not 1 <= p <= 65535 for p in v):
            raise ValueError("ports must be between 1 and 65535")
        return v

    @field_validator("database_url")
    @classmethod
    def _database_url_scheme(cls, v: str | None) -> str | None:
        if not v:
            return None
        if v.startswith("postgres://"):
            v = "postgresql://" + v[len("postgres://") :]
        if v.startswith("postgresql://"):
            v = "postgresql+asyncpg://" + v[len("postgresql://") :]
        if not v.startswith("postgresql+asyncpg://"):
            raise ValueError("must be a postgresql:// URL")
        return v

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        if self.environment != "production":
            return self
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if len(key.encode()) < _MIN_SECRET_BYTES and self.jwt_algorithm == "HS256":
            raise ValueError(
                "AUTOVIDEO_SECRET_KEY must be set to at least 32 random bytes in production "
                '(python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        if not self.encryption_key:
            raise ValueError(
                "AUTOVIDEO_ENCRYPTION_KEY must be set in production "
                '(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")'
            )
        if self.jwt_algorithm != "HS256" and not (self.jwt_private_key and self.jwt_public_key):
            raise ValueError(
                "AUTOVIDEO_JWT_PRIVATE_KEY and AUTOVIDEO_JWT_PUBLIC_KEY are required for RS256/ES256"
            )
        return self

    # ---------------------------------------------------------------- derived

    @property
    def private_provider_urls_allowed(self) -> bool:
        """allow_private_provider_urls, with its default applied (not in production)."""
        if self.allow_private_provider_urls is not None:
            return self.allow_private_provider_urls
        return self.environment != "production"

    @property
    def outbound_ports(self) -> frozenset[int] | None:
        """outbound_allowed_ports with its default applied; None means any port."""
        if self.outbound_allowed_ports is not None:
            return frozenset(self.outbound_allowed_ports)
        return frozenset({80, 443}) if self.environment == "production" else None

    @cached_property
    def media_dir(self) -> Path:
        return (self.storage_dir or self.data_dir / "media").resolve()

    @property
    def work_dir(self) -> Path:
        """Scratch space for renders; never served."""
        return (self.data_dir / "work").resolve()

    def _dev_secret(self, name: str, make: type[bytes] | None = None) -> str:
        """A secret stored in the data folder, created on first use (development only)."""
        import secrets

        path = self.data_dir / "secrets" / name
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        if name == "encryption_key":
            from cryptography.fernet import Fernet

            value = Fernet.generate_key().decode()
        else:
            value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
        return value

    @cached_property
    def signing_secret(self) -> str:
        if self.secret_key:
            return self.secret_key.get_secret_value()
        return self._dev_secret("secret_key")

    @cached_property
    def encryption_keys(self) -> list[str]:
        raw = (
            self.encryption_key.get_secret_value()
            if self.encryption_key
            else self._dev_secret("encryption_key")
        )
        return [k.strip() for k in raw.split(",") if k.strip()]


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into one clear line per setting."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) if err["loc"] else ""
            name = f"AUTOVIDEO_{loc.upper()}" if loc else "configuration"
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{name}: {msg}" if loc else msg)
        raise ConfigError("; ".join(lines)) from None
