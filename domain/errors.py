"""Errors the domain raises on purpose. Each has a stable code (the GraphQL `extensions.code`)
and a message safe to show a user; anything else is an internal error and is masked."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class NotFound(DomainError):
    code = "NOT_FOUND"


class BadInput(DomainError):
    """`field` names the offending input field when there is one."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, field: str | None = None, **extensions: Any) -> None:
        if field:
            extensions["field"] = field
        super().__init__(message, **extensions)


class Conflict(DomainError):
    code = "CONFLICT"


class Throttled(DomainError):
    code = "THROTTLED"

    def __init__(self, message: str, retry_after: int, **extensions: Any) -> None:
        super().__init__(message, retryAfter=retry_after, **extensions)
        self.retry_after = retry_after


class QuotaExceeded(DomainError):
    code = "QUOTA_EXCEEDED"
