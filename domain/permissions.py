"""Roles and permissions exactly as the seed's ROLE_PERMISSIONS table."""

from __future__ import annotations

from enum import StrEnum

from persistence.enums import Role


class Permission(StrEnum):
    USER_READ = "user:read"
    USER_UPDATE = "user:update"
    USER_DELETE = "user:delete"
    VIDEO_CREATE = "video:create"
    VIDEO_READ = "video:read"
    VIDEO_UPDATE = "video:update"
    VIDEO_DELETE = "video:delete"
    VIDEO_PUBLISH = "video:publish"
    AI_GENERATE_TEXT = "ai:generate:text"
    AI_GENERATE_IMAGE = "ai:generate:image"
    AI_GENERATE_AUDIO = "ai:generate:audio"
    ADMIN_USER_MANAGE = "admin:user:manage"
    ADMIN_SYSTEM_CONFIG = "admin:system:config"
    ADMIN_ANALYTICS_VIEW = "admin:analytics:view"


P = Permission
_CREATOR = frozenset(
    {
        P.USER_READ,
        P.USER_UPDATE,
        P.VIDEO_CREATE,
        P.VIDEO_READ,
        P.VIDEO_UPDATE,
        P.VIDEO_DELETE,
        P.AI_GENERATE_TEXT,
    }
)
_PREMIUM = _CREATOR | {P.AI_GENERATE_IMAGE, P.AI_GENERATE_AUDIO, P.VIDEO_PUBLISH}
_ADMIN = _PREMIUM | {P.ADMIN_USER_MANAGE, P.ADMIN_ANALYTICS_VIEW}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.GUEST: frozenset(),
    Role.USER: frozenset({P.USER_READ, P.VIDEO_READ}),
    Role.CREATOR: _CREATOR,
    Role.PREMIUM: frozenset(_PREMIUM),
    Role.ADMIN: frozenset(_ADMIN),
    Role.SUPER_ADMIN: frozenset(Permission),
}


def permissions_of(roles: set[Role] | frozenset[Role] | list[Role]) -> frozenset[Permission]:
    out: set[Permission] = set()
    for role in roles:
        out |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(out)
