"""`@requiresPermission(permission: …)`: printed in the SDL on every field that needs a
permission, and enforced at execution by the same object."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location

from domain.permissions import Permission as DomainPermission

Permission = strawberry.enum(
    Enum("Permission", {p.name: p.name for p in DomainPermission}),  # type: ignore[misc]
    name="Permission",
)


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="requiresPermission",
    description="Checked at execution on every field that carries it; shown in the SDL.",
)
class RequiresPermissionDirective:
    permission: Permission  # type: ignore[valid-type]


class RequiresPermission(BasePermission):
    error_extensions = {"code": "FORBIDDEN"}

    def __init__(self, permission: DomainPermission) -> None:
        self.permission = permission
        self._schema_directive = RequiresPermissionDirective(  # type: ignore[assignment]
            permission=Permission[permission.name]  # type: ignore[index]
        )

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal.user_id is None:
            self.message = "Sign in to do this."
            self.error_extensions = {"code": "UNAUTHENTICATED"}
            return False
        if principal.can(self.permission):
            return True
        self.message = f"This needs the {self.permission.name} permission."
        self.error_extensions = {"code": "FORBIDDEN"}
        return False


def requires(permission: DomainPermission) -> list[PermissionExtension]:
    """`extensions=requires(Permission.VIDEO_CREATE)` on a strawberry field."""
    return [PermissionExtension(permissions=[RequiresPermission(permission)], use_directives=True)]


def required_permission(field: Any) -> DomainPermission | None:
    """The permission a schema field requires, read back from its extensions (tests use it)."""
    for ext in getattr(field, "extensions", None) or []:
        if isinstance(ext, PermissionExtension):
            for perm in ext.permissions:
                if isinstance(perm, RequiresPermission):
                    return perm.permission
    return None
