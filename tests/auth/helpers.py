"""Helpers for the auth tests: sign up / in through the schema, principals from tokens."""

from __future__ import annotations

import uuid
from typing import Any

from domain.authentication import authenticate_bearer
from domain.identity import Principal
from tests.gql import codes, execute

PASSWORD = "Tr0ub4dor&3-horse-staple"

REGISTER = """mutation($input: RegisterInput!) { register(input: $input) {
  accessToken refreshToken tokenType expiresIn user { id username email roles permissions } } }"""
LOGIN = """mutation($login: String!, $password: String!) {
  login(input: {login: $login, password: $password}) {
  accessToken refreshToken expiresIn user { id username } } }"""
REFRESH = """mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"""
LOGOUT = """mutation($t: String) { logout(refreshToken: $t) }"""
ME = "{ me { id username email roles isActive emailVerified } }"


def unique_name(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


async def register(
    resources: Any,
    username: str | None = None,
    email: str | None = None,
    password: str = PASSWORD,
    address: str = "127.0.0.1",
) -> dict[str, Any]:
    username = username or unique_name()
    email = email or f"{username}@example.com"
    result = await execute(
        resources,
        REGISTER,
        {"input": {"username": username, "email": email, "password": password}},
        Principal.anonymous(address),
    )
    assert result.errors is None, result.errors
    return dict(result.data["register"])


async def login(resources: Any, login_: str, password: str = PASSWORD) -> Any:
    return await execute(resources, LOGIN, {"login": login_, "password": password})


async def principal(resources: Any, access_token: str) -> Principal:
    return await authenticate_bearer(resources, f"Bearer {access_token}", "127.0.0.1")


__all__ = [
    "LOGIN",
    "LOGOUT",
    "ME",
    "PASSWORD",
    "REFRESH",
    "REGISTER",
    "codes",
    "execute",
    "login",
    "principal",
    "register",
    "unique_name",
]
