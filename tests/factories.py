"""Factories: rows built in code with sensible defaults, overridable per test."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.identity import Principal
from persistence.enums import Role, VideoStatus
from persistence.user import User, UserRole
from persistence.video import Video

_seq = itertools.count(1)

# A fast, valid argon2id hash of "correct horse battery staple" would be computed per call;
# tests that log in use domain.accounts to register instead.
PLACEHOLDER_HASH = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$placeholderplaceholderplaceholder"


async def make_user(session: AsyncSession, *, roles: tuple[Role, ...] = (Role.CREATOR,), **kw: Any) -> User:
    n = next(_seq)
    suffix = uuid.uuid4().hex[:6]
    user = User(
        username=kw.pop("username", f"user{n}_{suffix}"),
        email=kw.pop("email", f"user{n}_{suffix}@example.com"),
        password_hash=kw.pop("password_hash", PLACEHOLDER_HASH),
        **kw,
    )
    session.add(user)
    await session.flush()
    for role in roles:
        session.add(UserRole(user_id=user.id, role=role))
    await session.flush()
    return user


def principal_for(user: User, roles: tuple[Role, ...] = (Role.CREATOR,)) -> Principal:
    return Principal.for_user(user.id, frozenset(roles))


async def make_video(session: AsyncSession, owner: User, **kw: Any) -> Video:
    n = next(_seq)
    video = Video(
        user_id=owner.id,
        title=kw.pop("title", f"Video {n}"),
        prompt=kw.pop("prompt", "Why the sky is blue"),
        status=kw.pop("status", VideoStatus.PENDING),
        **kw,
    )
    session.add(video)
    await session.flush()
    await session.refresh(video)
    return video


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s)
