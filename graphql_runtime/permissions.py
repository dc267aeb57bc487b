"""`@requiresPermission(permission: …)`: printed in the SDL on every field that needs a
permission, and enforced at execution by the same object."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location

from domain.permissions import Permission as DomainPermission

Permission = strawberry.enum(
    Enum("Permission", {p.name: p.name for p in DomainPermission}),  # type: ignore[call-overload]
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
        self._schema_directive = RequiresPermissionDirective(  # type: ignore[misc]
            permission=Permission[permission.name]
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


def requires(permission: DomainPermission) -> list[FieldExtension]:
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


PUBLIC_FIELDS: set[str] = {
    # Anyone: signing up and in, and the flows that start from an emailed link.
    "Mutation.register",
    "Mutation.login",
    "Mutation.refreshToken",
    "Mutation.verifyEmail",
    "Mutation.requestPasswordReset",
    "Mutation.resetPassword",
    # Signed-in users whatever their roles (UNAUTHENTICATED otherwise): managing one's own session.
    "Mutation.logout",
    "Mutation.changePassword",
    "Mutation.requestEmailVerification",
    # Null / NOT_FOUND rather than an error: the object-level rules decide what is visible.
    "Query.me",
    "Query.node",
}
"""Root fields ("Type.field") that deliberately carry no @requiresPermission. Every other root
field must carry one; tests/auth/test_permission_matrix.py enforces it over the whole schema."""


def permission_rules(schema: Any) -> dict[str, DomainPermission | None]:
    """Every field of every object type ("Type.field") that carries @requiresPermission, and
    every root field: its permission, or None for a root field without one (which must then be
    in PUBLIC_FIELDS)."""
    from strawberry.types.base import StrawberryObjectDefinition

    roots = {"Query", "Mutation", "Subscription"}
    out: dict[str, DomainPermission | None] = {}
    for type_def in schema.schema_converter.type_map.values():
        definition = type_def.definition
        if not isinstance(definition, StrawberryObjectDefinition) or definition.is_input:
            continue
        for field in definition.fields:
            name = f"{definition.name}.{schema.config.name_converter.get_graphql_name(field)}"
            perm = required_permission(field)
            if perm is not None or definition.name in roots:
                out[name] = perm
    return out
