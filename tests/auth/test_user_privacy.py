"""A user's public profile is open to anyone; the private fields (email, emailVerified, roles,
permissions, lastLoginAt) only to the user and to ADMIN_USER_MANAGE holders."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.identity import Principal
from persistence.enums import Role
from schema.node import to_global_id
from tests.auth.helpers import LOGIN, PASSWORD, register
from tests.factories import make_user, make_video, principal_for
from tests.gql import execute

PROFILE = """query($id: ID!) { node(id: $id) { id ... on User {
  username fullName bio avatarUrl website location isActive createdAt
  email emailVerified roles permissions lastLoginAt } } }"""
HIDDEN: dict[str, Any] = {
    "email": None,
    "emailVerified": False,
    "roles": [],
    "permissions": [],
    "lastLoginAt": None,
}


@pytest.fixture
async def someone(session):
    return await make_user(
        session,
        roles=(Role.PREMIUM,),
        full_name="Ada Lovelace",
        bio="Notes on the engine",
        avatar_url="https://example.com/ada.png",
        email_verified=True,
        last_login_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def _public(user) -> dict:
    return {
        "username": user.username,
        "fullName": "Ada Lovelace",
        "bio": "Notes on the engine",
        "avatarUrl": "https://example.com/ada.png",
        "isActive": True,
    }


@pytest.mark.parametrize("viewer", ["anonymous", "another creator", "another premium user"])
async def test_others_see_the_public_profile_only(resources, session, someone, viewer):
    other = await make_user(session, roles=(Role.CREATOR,))
    principal = {
        "anonymous": Principal.anonymous("203.0.113.9"),
        "another creator": principal_for(other),
        "another premium user": principal_for(other, (Role.PREMIUM,)),
    }[viewer]
    r = await execute(resources, PROFILE, {"id": to_global_id("User", someone.id)}, principal)
    assert r.errors is None, r.errors
    node = r.data["node"]
    assert {k: node[k] for k in _public(someone)} == _public(someone)
    assert {k: node[k] for k in HIDDEN} == HIDDEN


@pytest.mark.parametrize("viewer", ["the user", "an admin"])
async def test_the_user_and_user_admins_see_everything(resources, session, someone, viewer):
    admin = await make_user(session, roles=(Role.ADMIN,))
    principal = (
        principal_for(someone, (Role.PREMIUM,))
        if viewer == "the user"
        else principal_for(admin, (Role.ADMIN,))
    )
    r = await execute(resources, PROFILE, {"id": to_global_id("User", someone.id)}, principal)
    assert r.errors is None, r.errors
    node = r.data["node"]
    assert node["email"] == someone.email and node["emailVerified"] is True
    assert node["roles"] == ["PREMIUM"] and "VIDEO_CREATE" in node["permissions"]
    assert node["lastLoginAt"].startswith("2026-01-02T03:04:05")


async def test_a_video_owner_seen_by_its_owner_is_whole(resources, session, someone):
    video = await make_video(session, someone)
    q = "query($id: ID!) { video(id: $id) { owner { email roles } } }"
    r = await execute(
        resources, q, {"id": to_global_id("Video", video.id)}, principal_for(someone, (Role.PREMIUM,))
    )
    assert r.data["video"]["owner"] == {"email": someone.email, "roles": ["PREMIUM"]}


async def test_the_auth_payload_shows_the_signed_in_user_their_own_account(resources):
    reg = await register(resources)
    assert (
        reg["user"]["roles"] == ["CREATOR"]
        and reg["user"]["email"] == f"{reg['user']['username']}@example.com"
    )
    q = LOGIN.replace("user { id username }", "user { id username email roles permissions }")
    r = await execute(resources, q, {"login": reg["user"]["username"], "password": PASSWORD})
    assert r.errors is None, r.errors
    user = r.data["login"]["user"]
    assert user["email"] == reg["user"]["email"] and user["roles"] == ["CREATOR"] and user["permissions"]
