"""Who is asking: the principal every domain function receives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import Forbidden, Unauthenticated
from domain.permissions import Permission, permissions_of
from persistence.enums import Role


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID | None
    roles: frozenset[Role] = frozenset()
    token_jti: str | None = None
    token_expires_at: datetime | None = None
    api_key_id: uuid.UUID | None = None
    client_address: str | None = None
    permissions: frozenset[Permission] = field(default=frozenset())

    @classmethod
    def anonymous(cls, client_address: str | None = None) -> Principal:
        return cls(user_id=None, roles=frozenset({Role.GUEST}), client_address=client_address)

    @classmethod
    def for_user(cls, user_id: uuid.UUID, roles: frozenset[Role], **kw: object) -> Principal:
        return cls(user_id=user_id, roles=roles, permissions=permissions_of(roles), **kw)  # type: ignore[arg-type]

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require_user(self) -> uuid.UUID:
        if self.user_id is None:
            raise Unauthenticated("Sign in to do this.")
        return self.user_id

    def require(self, permission: Permission) -> uuid.UUID:
        user_id = self.require_user()
        if not self.can(permission):
            raise Forbidden(f"This needs the {permission.name} permission.")
        return user_id

    def owns_or_can(self, owner_id: uuid.UUID, admin_permission: Permission) -> bool:
        return self.user_id == owner_id or self.can(admin_permission)
