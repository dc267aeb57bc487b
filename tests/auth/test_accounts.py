"""Accounts: register, login by username or email, me, profile, password policy and hashing."""

import pytest
from sqlalchemy import select

from domain import passwords
from domain.accounts import create_super_admin
from domain.identity import Principal
from persistence.enums import Role
from persistence.user import User
from tests.auth.helpers import (
    ME,
    PASSWORD,
    REGISTER,
    codes,
    execute,
    login,
    principal,
    register,
    unique_name,
)


async def test_register_login_me_and_roles(resources, session):
    name = unique_name("Alice")
    reg = await register(resources, username=name, email=f"  {name}@Example.COM ")
    assert reg["tokenType"] == "bearer" and reg["expiresIn"] == 15 * 60
    assert reg["user"]["roles"] == ["CREATOR"]
    assert reg["user"]["email"] == f"{name}@example.com".lower()  # their own account (test_user_privacy)
    row = (await session.scalars(select(User).where(User.username == name))).one()
    assert row.email == f"{name}@example.com".lower()
    assert row.password_hash.startswith("$argon2id$")
    for ident in (name.upper(), f"{name}@EXAMPLE.com"):
        result = await login(resources, ident)
        assert result.errors is None, result.errors
    me = await execute(resources, ME, principal=await principal(resources, reg["accessToken"]))
    assert me.data["me"]["username"] == name and me.data["me"]["email"] == f"{name}@example.com".lower()
    anon = await execute(resources, ME)
    assert anon.errors is None and anon.data["me"] is None


@pytest.mark.parametrize("username", ["ab", "x" * 51, "bad name", "tab\tname", "émile", "a/b"])
async def test_bad_usernames_are_refused(resources, username):
    result = await execute(
        resources, REGISTER, {"input": {"username": username, "email": "a@example.com", "password": PASSWORD}}
    )
    assert codes(result) == ["BAD_USER_INPUT"]
    assert result.errors[0].extensions["field"] == "username"


@pytest.mark.parametrize("password", ["short1!", "password123", "Qwerty123", "iloveyou2025", "aaaaaaaaaaaa"])
async def test_weak_passwords_are_refused(resources, password):
    result = await execute(
        resources,
        REGISTER,
        {"input": {"username": unique_name(), "email": "x@example.com", "password": password}},
    )
    assert codes(result) == ["BAD_USER_INPUT"], password


async def test_bad_email_and_duplicates_case_insensitive(resources):
    bad = await execute(
        resources,
        REGISTER,
        {"input": {"username": unique_name(), "email": "not-an-email", "password": PASSWORD}},
    )
    assert codes(bad) == ["BAD_USER_INPUT"] and bad.errors[0].extensions["field"] == "email"
    name = unique_name("Bob")
    await register(resources, username=name)
    dup_name = await execute(
        resources,
        REGISTER,
        {"input": {"username": name.lower(), "email": "o@example.com", "password": PASSWORD}},
    )
    assert codes(dup_name) == ["CONFLICT"]
    dup_mail = await execute(
        resources,
        REGISTER,
        {"input": {"username": unique_name(), "email": f"{name.upper()}@EXAMPLE.COM", "password": PASSWORD}},
    )
    assert codes(dup_mail) == ["BAD_USER_INPUT"]  # not disclosed: test_register_privacy.py


async def test_wrong_password_and_unknown_login_look_the_same(resources):
    reg = await register(resources)
    wrong = await login(resources, reg["user"]["username"], "wrong-password-123")
    unknown = await login(resources, unique_name(), "wrong-password-123")
    assert codes(wrong) == codes(unknown) == ["UNAUTHENTICATED"]
    assert wrong.errors[0].message == unknown.errors[0].message


async def test_password_is_rehashed_when_parameters_change(resources, session):
    reg = await register(resources)
    row = (await session.scalars(select(User).where(User.username == reg["user"]["username"]))).one()
    old = passwords.hasher(None).hash(PASSWORD)  # production parameters differ from the test profile
    row.password_hash = old
    await session.flush()
    assert passwords.needs_rehash(old, resources.settings)
    assert (await login(resources, reg["user"]["username"])).errors is None
    await session.refresh(row)
    assert row.password_hash != old and not passwords.needs_rehash(row.password_hash, resources.settings)
    assert passwords.verify_password_sync(row.password_hash, PASSWORD)


def test_production_hash_parameters_are_strong():
    params = passwords.hasher(None)
    assert params.time_cost >= 2 and params.memory_cost >= 19 * 1024
    assert len(passwords.common_passwords()) > 2000


async def test_update_profile(resources):
    reg = await register(resources)
    p = await principal(resources, reg["accessToken"])
    q = """mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { fullName bio website location } }"""
    ok = await execute(
        resources, q, {"i": {"fullName": " Ada ", "website": "https://ada.example", "bio": "hi"}}, p
    )
    assert ok.errors is None and ok.data["updateProfile"]["fullName"] == "Ada"
    cleared = await execute(resources, q, {"i": {"bio": None}}, p)
    assert cleared.data["updateProfile"] == {
        "fullName": "Ada",
        "bio": None,
        "website": "https://ada.example",
        "location": None,
    }
    bad = await execute(resources, q, {"i": {"website": "javascript:alert(1)"}}, p)
    assert codes(bad) == ["BAD_USER_INPUT"]
    guest = Principal.for_user(p.user_id, frozenset({Role.USER}))  # type: ignore[arg-type]
    assert codes(await execute(resources, q, {"i": {"bio": "x"}}, guest)) == ["FORBIDDEN"]


async def test_create_super_admin(session):
    user = await create_super_admin(session, unique_name("root"), f"{unique_name()}@example.com", PASSWORD)
    assert user.email_verified and user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4")
