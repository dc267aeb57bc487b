"""Every root field x every role (and anonymous), generated from the schema itself.

A field either carries @requiresPermission (anonymous → UNAUTHENTICATED, a role without the
permission → FORBIDDEN, a role with it → neither) or is listed in graphql_runtime.permissions.PUBLIC_FIELDS.
A new root field with neither fails `test_every_root_field_has_a_rule`."""

from __future__ import annotations

import asyncio
import base64
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import (
    EnumValueNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    ObjectTypeDefinitionNode,
    Undefined,
    parse,
)
from strawberry.permission import PermissionExtension

from domain.identity import Principal
from domain.permissions import ROLE_PERMISSIONS
from graphql_runtime.context import Context
from graphql_runtime.permissions import PUBLIC_FIELDS, RequiresPermission, permission_rules
from persistence.enums import Role
from resolvers.root import schema
from tests.factories import make_user

# Root fields of features still in flight, without a rule yet. Strict: once a field gets a rule,
# this test fails until it is removed from here (like contract_pending.txt).
AWAITING_RULE: set[str] = set()

ROOTS = {"Query": "query", "Mutation": "mutation", "Subscription": "subscription"}
DENIED = {"FORBIDDEN", "UNAUTHENTICATED"}


def _gid(type_name: str = "User") -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{uuid.uuid4()}".encode()).decode().rstrip("=")


def literal(t: Any) -> str:
    """A minimal valid GraphQL literal of input type `t`."""
    if isinstance(t, GraphQLNonNull):
        return literal(t.of_type)
    if isinstance(t, GraphQLList):
        return "[]"
    if isinstance(t, GraphQLEnumType):
        return next(iter(t.values))
    if isinstance(t, GraphQLInputObjectType):
        parts = [
            f"{n}: {literal(f.type)}"
            for n, f in t.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        ]
        return "{" + ", ".join(parts) + "}"
    assert isinstance(t, GraphQLScalarType), t
    return {
        "ID": f'"{_gid()}"',
        "String": '"x"',
        "Int": "1",
        "Float": "1.0",
        "Boolean": "true",
        "DateTime": '"2031-01-01T00:00:00+00:00"',
        "Date": '"2031-01-01"',
    }.get(t.name, '"x"')


def document(root: str, field_name: str) -> str:
    gql_root = schema._schema.get_type(root)
    assert isinstance(gql_root, GraphQLObjectType), root
    field = gql_root.fields[field_name]
    args = [
        f"{n}: {literal(a.type)}"
        for n, a in field.args.items()
        if isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined
    ]
    named = field.type
    while isinstance(named, (GraphQLNonNull, GraphQLList)):
        named = named.of_type
    selection = (
        " { __typename }"
        if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType))
        else ""
    )
    arg_text = f"({', '.join(args)})" if args else ""
    return f"{ROOTS[root]} {{ {field_name}{arg_text}{selection} }}"


async def run(resources: Any, root: str, field_name: str, principal: Principal) -> set[str]:
    ctx = Context(resources=resources, principal=principal, client_address="127.0.0.1")
    query = document(root, field_name)
    if root == "Subscription":
        feed = await schema.subscribe(query, context_value=ctx)  # always a stream, errors included
        try:
            # asyncio.timeout, not wait_for: the same task (the unit of work's ContextVar).
            # A refusal is the first thing an in-process subscription yields (no I/O before
            # it); a quiet second means accepted and waiting for events.
            async with asyncio.timeout(1):
                result = await feed.__anext__()
        except TimeoutError:
            return set()  # allowed, and waiting for events (an endless feed)
        finally:
            await feed.aclose()
    else:
        result = await schema.execute(query, context_value=ctx)
    errors = result.errors or []
    for e in errors:
        assert (e.extensions or {}).get("code"), f"{root}.{field_name}: error without a code: {e}"
    assert not any(
        (e.extensions or {}).get("code") in ("GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED")
        for e in errors
    ), f"bad generated document {query}: {errors}"
    return {(e.extensions or {})["code"] for e in errors}  # each has one (asserted above)


def root_fields() -> list[tuple[str, str]]:
    out = []
    for root in ROOTS:
        t = schema._schema.get_type(root)
        if isinstance(t, GraphQLObjectType):  # a root type is an object type, when present
            out += [(root, name) for name in t.fields]
    return out


RULES = permission_rules(schema)


def test_every_root_field_has_a_rule():
    missing = []
    for root, name in root_fields():
        key = f"{root}.{name}"
        has_directive = RULES.get(key) is not None
        if key in AWAITING_RULE:
            assert not has_directive and key not in PUBLIC_FIELDS, (
                f"{key} has a rule now: remove it from AWAITING_RULE"
            )
            continue
        if has_directive == (key in PUBLIC_FIELDS):
            missing.append(key)
    assert not missing, (
        "root fields need @requiresPermission or a PUBLIC_FIELDS entry (not both):\n" + "\n".join(missing)
    )
    stale = PUBLIC_FIELDS - {f"{r}.{n}" for r, n in root_fields()}
    assert not stale, f"PUBLIC_FIELDS names fields that do not exist: {stale}"


def test_directives_are_printed_in_the_sdl():
    printed: dict[str, str] = {}
    for definition in parse(schema.as_str()).definitions:
        if isinstance(definition, ObjectTypeDefinitionNode):
            for f in definition.fields or ():
                for d in f.directives or ():
                    if d.name.value == "requiresPermission":
                        value = (d.arguments or ())[0].value
                        assert isinstance(value, EnumValueNode)
                        printed[f"{definition.name.value}.{f.name.value}"] = value.value
    expected = {k: v.name for k, v in RULES.items() if v is not None}
    assert printed == expected
    assert "directive @requiresPermission(permission: Permission!) on FIELD_DEFINITION" in schema.as_str()


@pytest.fixture
async def principals(session):
    out: dict[str, Principal] = {"anonymous": Principal.anonymous("127.0.0.1")}
    for role in Role:
        user = await make_user(session, roles=(role,))
        out[role.name] = Principal.for_user(user.id, frozenset({role}), client_address="127.0.0.1")
    await session.commit()
    return out


GUARDED = sorted((k, v) for k, v in RULES.items() if v is not None and k.split(".")[0] in ROOTS)


@pytest.mark.parametrize(("key", "permission"), GUARDED, ids=[k for k, _ in GUARDED])
async def test_guarded_root_field_matrix(resources, principals, key, permission):
    root, name = key.split(".")
    assert "UNAUTHENTICATED" in await run(resources, root, name, principals["anonymous"]), key
    for role in Role:
        got = await run(resources, root, name, principals[role.name])
        if permission in ROLE_PERMISSIONS[role]:
            assert not got & DENIED, f"{key} as {role.name} (has {permission.name}): {got}"
        else:
            assert "FORBIDDEN" in got, f"{key} as {role.name} (lacks {permission.name}): {got}"


PUBLIC = sorted(PUBLIC_FIELDS)


async def test_subscription_errors_carry_a_code(resources, principals):
    if schema._schema.subscription_type is None:
        pytest.skip("no subscriptions")
    name = next(iter(schema._schema.subscription_type.fields))
    # a signed-in creator asking for a video that does not exist: a domain NOT_FOUND
    ctx = Context(resources=resources, principal=principals["SUPER_ADMIN"], client_address="127.0.0.1")
    feed = await schema.subscribe(document("Subscription", name), context_value=ctx)
    try:
        result = await feed.__anext__()
    finally:
        await feed.aclose()
    assert result.errors and all((e.extensions or {}).get("code") for e in result.errors)


@pytest.mark.parametrize("key", PUBLIC)
async def test_public_root_fields_never_answer_forbidden(resources, principals, key):
    root, name = key.split(".")
    for who in ("anonymous", "GUEST", "USER"):
        got = await run(resources, root, name, principals[who])
        assert "FORBIDDEN" not in got, f"{key} as {who}: {got}"


def _field_permissions() -> list[tuple[str, RequiresPermission]]:
    from strawberry.types.base import StrawberryObjectDefinition

    out = []
    for type_def in schema.schema_converter.type_map.values():
        definition = type_def.definition
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        for field in definition.fields:
            for ext in field.extensions or []:
                if isinstance(ext, PermissionExtension):
                    out += [
                        (f"{definition.name}.{field.python_name}", p)
                        for p in ext.permissions
                        if isinstance(p, RequiresPermission)
                    ]
    return out


def test_every_directive_enforces_its_permission_for_every_role():
    """Object-type fields too: the permission object on each field admits exactly the roles
    whose ROLE_PERMISSIONS contain it, and nobody anonymous."""
    checked = _field_permissions()
    assert checked
    for key, perm in checked:
        anon = SimpleNamespace(context=SimpleNamespace(principal=Principal.anonymous()))
        assert perm.has_permission(None, anon) is False, key  # type: ignore[arg-type]
        for role in Role:
            p = Principal.for_user(uuid.uuid4(), frozenset({role}))
            info = SimpleNamespace(context=SimpleNamespace(principal=p))
            assert perm.has_permission(None, info) is (perm.permission in ROLE_PERMISSIONS[role]), (key, role)  # type: ignore[arg-type]
