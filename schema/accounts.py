"""Authentication shapes: AuthPayload and the register/login inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry

from schema.user import User

if TYPE_CHECKING:
    from domain.accounts import AuthResult


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int = strawberry.field(description="seconds until the access token expires")
    user: User

    @classmethod
    def from_model(cls, result: AuthResult) -> AuthPayload:
        return cls(
            access_token=result.access_token,
            refresh_token=result.refresh_token,
            token_type=result.token_type,
            expires_in=result.expires_in,
            user=User.from_model(result.user, own=True),  # the caller now holds its tokens
        )


@strawberry.input
class RegisterInput:
    username: str
    email: str
    password: str
    full_name: str | None = None


@strawberry.input
class LoginInput:
    login: str = strawberry.field(description="username or email")
    password: str
