"""Map the official SDKs' exceptions onto our ProviderError family.

Every adapter calls its SDK with the SDK's own retries switched off and funnels
any exception through `map_*_error`, so the chain and the circuit breaker only
ever see our error classes:

    429                      -> RateLimitedError (retry_after from Retry-After / retry-after-ms)
    408, 5xx, connection     -> TransientProviderError
    timeouts                 -> ProviderTimeoutError
    refused by the outbound  -> ProviderAddressRefusedError ("The provider address is not allowed",
      policy (providers/net)    permanent, counts for the breaker; nothing about the address)
    401 / 403                -> ProviderAuthError        (permanent, counts for the breaker)
    404                      -> ProviderNotFoundError    (permanent, counts: wrong model / endpoint)
    400 / 409 / 413 / 422    -> ProviderRejectedError    (permanent, request-specific)
    bad JSON / shape         -> MalformedResponseError

Messages are written for the person who configured the provider; the server's
own text is only appended after scrubbing anything that looks like a credential
(the key itself, `sk-...`, `AIza...`, bearer tokens).
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from providers.ai.base import (
    MalformedResponseError,
    PermanentProviderError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    TransientProviderError,
)
from providers.net import OutboundRefusedError

__all__ = [
    "ADDRESS_REFUSED",
    "MalformedResponseError",
    "ProviderAddressRefusedError",
    "ProviderAuthError",
    "ProviderNotFoundError",
    "ProviderRejectedError",
    "cause_for",
    "counts_against_provider",
    "from_status",
    "map_anthropic_error",
    "map_elevenlabs_error",
    "map_gemini_error",
    "map_openai_error",
    "parse_retry_after",
    "scrub",
]


class ProviderAuthError(PermanentProviderError):
    """401/403: the key is wrong, revoked, or lacks access. Every call will fail the same way."""


class ProviderNotFoundError(PermanentProviderError):
    """404: the model or endpoint does not exist (a configuration problem)."""


class ProviderRejectedError(PermanentProviderError):
    """400/422...: this particular request was refused (bad parameter, content policy)."""


ADDRESS_REFUSED = "The provider address is not allowed"


class ProviderAddressRefusedError(PermanentProviderError):
    """The outbound policy (providers/net.py) refused the provider's address or port. The message
    is always ADDRESS_REFUSED: which address or port, and why, go to logs only."""

    def __init__(self, provider: str) -> None:
        super().__init__(provider, ADDRESS_REFUSED)


def counts_against_provider(err: ProviderError) -> bool:
    """Whether a failure says something about the provider's health (for the circuit
    breaker) rather than about the one request: transient failures, bad credentials, a
    missing model/endpoint and a refused address count; a refused request does not."""
    return err.transient or isinstance(
        err, ProviderAuthError | ProviderNotFoundError | ProviderAddressRefusedError
    )


def refused(provider: str, exc: BaseException | None) -> ProviderAddressRefusedError | None:
    """ProviderAddressRefusedError when the outbound policy refused a connection somewhere in
    exc's chain (the SDKs wrap transport errors in their own)."""
    for _ in range(20):
        if exc is None:
            return None
        if isinstance(exc, OutboundRefusedError):
            return ProviderAddressRefusedError(provider)
        exc = exc.__cause__ or exc.__context__
    return None


# ------------------------------------------------------------------ helpers

_SECRET_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_\-*.]{6,}"),
    re.compile(r"AIza[0-9A-Za-z_\-]{10,}"),
    re.compile(r"(?i)bearer\s+[A-Za-z0-9_\-.=]+"),
    re.compile(r"(?i)(api[_-]?key|xi-api-key|x-goog-api-key|key)([\"'\s:=]+)[A-Za-z0-9_\-.*]{8,}"),
)

_MAX_DETAIL = 300


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove credentials (the given secrets and anything key-shaped) from text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    text = " ".join(text.split())
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 1] + "…"
    return text


def parse_retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds to wait, from `retry-after-ms`, `Retry-After` (seconds or HTTP date)."""
    if not headers:
        return None
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _detail_from_body(body: Any) -> str:
    """Best-effort human message from an error body of any provider."""
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping):
            msg = err.get("message")
            if isinstance(msg, str):
                return msg
        elif isinstance(err, str):
            return err
        for key in ("message", "detail"):
            val = body.get(key)
            if isinstance(val, str):
                return val
            if isinstance(val, Mapping):
                inner = val.get("message")
                if isinstance(inner, str):
                    return inner
    if isinstance(body, str):
        return body
    return ""


def from_status(
    provider: str,
    status: int,
    *,
    headers: Mapping[str, str] | None = None,
    detail: str = "",
    secrets: Iterable[str | None] = (),
) -> ProviderError:
    """Our error for an HTTP status answered by a provider."""
    clean = scrub(detail, secrets) if detail else ""
    suffix = f" ({clean})" if clean else ""
    if status == 429:
        retry_after = parse_retry_after(headers)
        when = f", retry after {retry_after:g}s" if retry_after is not None else ""
        message = f"rate limited or out of quota{when}{suffix}"
        return RateLimitedError(provider, message, retry_after=retry_after)
    if status in (401, 403):
        what = "rejected the API key" if status == 401 else "refused access for this API key"
        return ProviderAuthError(provider, f"{what} (HTTP {status}); check the key and its permissions")
    if status == 404:
        return ProviderNotFoundError(
            provider, f"model or endpoint not found (HTTP 404); check the model name and base URL{suffix}"
        )
    if status == 408 or status >= 500:
        return TransientProviderError(provider, f"server error (HTTP {status}){suffix}")
    if 400 <= status < 500:
        return ProviderRejectedError(provider, f"rejected the request (HTTP {status}){suffix}")
    return TransientProviderError(provider, f"unexpected HTTP {status}{suffix}")


def _timeout(provider: str) -> ProviderTimeoutError:
    return ProviderTimeoutError(provider, "timed out waiting for the provider")


def _connection(provider: str) -> TransientProviderError:
    return TransientProviderError(provider, "could not connect to the provider")


def _is_timeout_exc(exc: BaseException) -> bool:
    """httpx / httpx2 / aiohttp / asyncio timeouts, by class name to avoid importing all of them."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return True
    return any(cls.__name__ in {"TimeoutException", "ServerTimeoutError"} for cls in type(exc).__mro__)


def _is_transport_exc(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"TransportError", "RequestError", "ClientError", "ClientConnectionError", "OSError"})


def cause_for(exc: BaseException) -> BaseException | None:
    """What to chain a mapped error to: nothing for HTTP answers (their bodies and request
    objects can carry credentials, and our message already holds the scrubbed detail),
    the original exception otherwise (connection problems, for debugging)."""
    if getattr(exc, "status_code", None) is not None or getattr(exc, "response", None) is not None:
        return None
    return exc


# ------------------------------------------------------------------ per SDK


def map_openai_error(provider: str, exc: BaseException, secrets: Iterable[str | None] = ()) -> ProviderError:
    import openai

    return _map_stainless_error(provider, exc, secrets, openai, openai.OpenAIError)


def map_anthropic_error(
    provider: str, exc: BaseException, secrets: Iterable[str | None] = ()
) -> ProviderError:
    import anthropic

    if isinstance(exc, anthropic.APIStatusError) and exc.status_code == 529:  # "overloaded"
        return TransientProviderError(provider, "is overloaded (HTTP 529)")
    return _map_stainless_error(provider, exc, secrets, anthropic, anthropic.AnthropicError)


def _map_stainless_error(
    provider: str, exc: BaseException, secrets: Iterable[str | None], sdk: Any, base_error: type[Exception]
) -> ProviderError:
    """The `openai` and `anthropic` SDKs are generated by the same tool (Stainless) and raise
    the same exception classes, each in its own module: `sdk` is that module."""
    if isinstance(exc, ProviderError):
        return exc
    if (refusal := refused(provider, exc)) is not None:
        return refusal
    if isinstance(exc, sdk.APITimeoutError):
        return _timeout(provider)
    if isinstance(exc, sdk.APIConnectionError):
        return _connection(provider)
    if isinstance(exc, sdk.APIStatusError):
        return from_status(
            provider,
            exc.status_code,
            headers=exc.response.headers,
            detail=_detail_from_body(exc.body) or exc.message,
            secrets=secrets,
        )
    if isinstance(exc, sdk.APIResponseValidationError):
        return MalformedResponseError(provider, "answered with data of an unexpected shape")
    if _is_timeout_exc(exc):
        return _timeout(provider)
    if isinstance(exc, base_error):
        return TransientProviderError(provider, f"client error: {scrub(str(exc), secrets)}")
    if _is_transport_exc(exc):
        return _connection(provider)
    return TransientProviderError(provider, f"unexpected {type(exc).__name__}: {scrub(str(exc), secrets)}")


def map_gemini_error(provider: str, exc: BaseException, secrets: Iterable[str | None] = ()) -> ProviderError:
    from google.genai import errors as genai_errors

    if isinstance(exc, ProviderError):
        return exc
    if (refusal := refused(provider, exc)) is not None:
        return refusal
    if isinstance(exc, genai_errors.APIError):
        headers: Mapping[str, str] | None = None
        response = getattr(exc, "response", None)
        raw_headers = getattr(response, "headers", None)
        if raw_headers is not None:
            headers = {str(k): str(v) for k, v in raw_headers.items()}
        status = exc.code if isinstance(exc.code, int) else 500
        detail = exc.message if isinstance(exc.message, str) else ""
        return from_status(provider, status, headers=headers, detail=detail, secrets=secrets)
    if _is_timeout_exc(exc):
        return _timeout(provider)
    if _is_transport_exc(exc):
        return _connection(provider)
    if isinstance(exc, ValueError):
        return MalformedResponseError(provider, f"answered with unexpected data: {scrub(str(exc), secrets)}")
    return TransientProviderError(provider, f"unexpected {type(exc).__name__}: {scrub(str(exc), secrets)}")


def map_elevenlabs_error(
    provider: str, exc: BaseException, secrets: Iterable[str | None] = ()
) -> ProviderError:
    from elevenlabs.core.api_error import ApiError

    if isinstance(exc, ProviderError):
        return exc
    if (refusal := refused(provider, exc)) is not None:
        return refusal
    if type(exc).__name__ == "ParsingError" or (
        isinstance(exc, ApiError) and exc.status_code is not None and 200 <= exc.status_code < 300
    ):  # the SDK raises these when a 2xx body is not the JSON it expects
        return MalformedResponseError(provider, "answered with data of an unexpected shape")
    if isinstance(exc, ApiError):
        status = exc.status_code or 500
        headers = {str(k): str(v) for k, v in (exc.headers or {}).items()}
        detail = _detail_from_body(exc.body)
        return from_status(provider, status, headers=headers, detail=detail, secrets=secrets)
    if _is_timeout_exc(exc):
        return _timeout(provider)
    if _is_transport_exc(exc):
        return _connection(provider)
    if isinstance(exc, ValueError):  # pydantic validation of the answer, bad JSON
        return MalformedResponseError(provider, "answered with data of an unexpected shape")
    return TransientProviderError(provider, f"unexpected {type(exc).__name__}: {scrub(str(exc), secrets)}")
