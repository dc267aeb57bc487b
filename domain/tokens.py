"""JWTs (pyjwt): access and refresh tokens, and purpose-bound single-use tokens.

Every token carries sub, jti, type, iat, exp, iss and aud. Decoding pins the algorithm
configured in settings (never `none`, never one chosen by the token's header) and requires
all of those claims."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt

from domain.errors import Unauthenticated

if TYPE_CHECKING:
    from runtime.settings import Settings

ISSUER = "autovideo"
AUDIENCE = "autovideo-api"
ACCESS = "access"
REFRESH = "refresh"
VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
REQUIRED = ["sub", "jti", "type", "iat", "exp", "iss", "aud"]
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class Claims:
    sub: uuid.UUID
    jti: str
    type: str
    issued_at: float
    expires_at: datetime
    extra: dict[str, Any]


def _signing_key(settings: Settings) -> Any:
    if settings.jwt_algorithm == "HS256":
        return settings.signing_secret
    if settings.jwt_private_key is None:
        raise RuntimeError("AUTOVIDEO_JWT_PRIVATE_KEY is required for " + settings.jwt_algorithm)
    return settings.jwt_private_key.get_secret_value()


def _verifying_key(settings: Settings) -> Any:
    if settings.jwt_algorithm == "HS256":
        return settings.signing_secret
    if settings.jwt_public_key is None:
        raise RuntimeError("AUTOVIDEO_JWT_PUBLIC_KEY is required for " + settings.jwt_algorithm)
    return settings.jwt_public_key


def encode(
    settings: Settings,
    *,
    sub: uuid.UUID,
    type: str,
    jti: str,
    lifetime: timedelta,
    now: datetime | None = None,
    **extra: Any,
) -> tuple[str, datetime]:
    """A signed token and its expiry. `iat` keeps sub-second precision, so a token issued
    after a password change is never mistaken for one issued before it."""
    now = now or datetime.now(UTC)
    exp = now + lifetime
    payload = {
        **extra,
        "sub": str(sub),
        "jti": jti,
        "type": type,
        "iat": now.timestamp(),
        "exp": int(exp.timestamp()),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    token = jwt.encode(payload, _signing_key(settings), algorithm=settings.jwt_algorithm)
    return token, datetime.fromtimestamp(int(exp.timestamp()), UTC)


def decode(settings: Settings, token: str, expected_type: str, *, verify_exp: bool = True) -> Claims:
    """Verified claims of a token of `expected_type`; anything else is UNAUTHENTICATED."""
    try:
        payload = jwt.decode(
            token,
            _verifying_key(settings),
            algorithms=[settings.jwt_algorithm],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED, "verify_exp": verify_exp},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired.") from None
    except jwt.PyJWTError:
        raise Unauthenticated("The token is not valid.") from None
    if payload.get("type") != expected_type:
        raise Unauthenticated("The token is not valid.")
    try:
        sub = uuid.UUID(str(payload["sub"]))
        iat = float(payload["iat"])
    except (TypeError, ValueError):
        raise Unauthenticated("The token is not valid.") from None
    extra = {k: v for k, v in payload.items() if k not in REQUIRED}
    return Claims(
        sub=sub,
        jti=str(payload["jti"]),
        type=expected_type,
        issued_at=iat,
        expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        extra=extra,
    )


def access_lifetime(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.access_token_minutes)


def refresh_lifetime(settings: Settings) -> timedelta:
    return timedelta(days=settings.refresh_token_days)
