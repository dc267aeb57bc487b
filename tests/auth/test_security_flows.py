"""Audit log, admin roles and subscriptions, email verification and reset,
API keys and persisted queries (in-process). Brute-force limits: test_brute_force.py."""

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import select

from domain.crypto import DecryptionError, decrypt, encrypt
from domain.identity import Principal
from domain.mail import outbox_dir
from graphql_runtime.context import Context
from persistence.audit import AuditEvent
from persistence.enums import Role
from persistence.user import UserRole
from tests.auth.helpers import ME, PASSWORD, REFRESH, codes, execute, login, principal, register
from tests.factories import make_user


def _uid(reg) -> uuid.UUID:
    return uuid.UUID(jwt.decode(reg["accessToken"], options={"verify_signature": False})["sub"])


async def test_failed_login_audit_survives_the_failed_operation(resources, session):
    reg = await register(resources)
    assert codes(await login(resources, reg["user"]["username"], "wrong-password-x")) == ["UNAUTHENTICATED"]
    assert (await login(resources, reg["user"]["username"])).errors is None
    rows = (await session.scalars(select(AuditEvent).where(AuditEvent.target_id == str(_uid(reg))))).all()
    actions = [r.action for r in rows]
    assert "auth.login_failed" in actions and "auth.login" in actions and "auth.register" in actions
    failed = next(r for r in rows if r.action == "auth.login_failed")
    assert str(failed.client_address) == "127.0.0.1" and failed.at is not None


async def test_admin_roles_with_expiry_and_audit_query(resources, session):
    reg = await register(resources)
    target_gid = reg["user"]["id"]
    admin_user = await make_user(session, roles=(Role.ADMIN,))
    admin = Principal.for_user(admin_user.id, frozenset({Role.ADMIN}), client_address="127.0.0.1")
    grant = """mutation($u: ID!, $r: Role!, $e: DateTime) { grantRole(userId: $u, role: $r, expiresAt: $e) {
      roles permissions } }"""
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = await execute(resources, grant, {"u": target_gid, "r": "PREMIUM", "e": soon}, admin)
    assert r.errors is None and "PREMIUM" in r.data["grantRole"]["roles"]
    assert "VIDEO_PUBLISH" in (await principal(resources, reg["accessToken"])).permissions.__repr__()
    # escalation to ADMIN needs a super admin
    assert codes(await execute(resources, grant, {"u": target_gid, "r": "ADMIN", "e": None}, admin)) == [
        "FORBIDDEN"
    ]
    # expiry is honoured at check time
    row = (
        await session.scalars(
            select(UserRole).where(UserRole.user_id == _uid(reg), UserRole.role == Role.PREMIUM)
        )
    ).one()
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await session.flush()
    await resources.redis.delete(resources.key("auth", "user", str(_uid(reg))))
    p = await principal(resources, reg["accessToken"])
    assert Role.PREMIUM not in p.roles and Role.CREATOR in p.roles
    revoke = "mutation($u: ID!) { revokeRole(userId: $u, role: CREATOR) { roles } }"
    assert (await execute(resources, revoke, {"u": target_gid}, admin)).data["revokeRole"]["roles"] == []
    log = await execute(
        resources, "{ auditLog(first: 20) { action actorId targetId clientAddress detail } }", None, admin
    )
    actions = [e["action"] for e in log.data["auditLog"]]
    assert "admin.role_granted" in actions and "admin.role_revoked" in actions
    creator = Principal.for_user(_uid(reg), frozenset({Role.CREATOR}))
    assert codes(await execute(resources, "{ auditLog { action } }", None, creator)) == ["FORBIDDEN"]


async def test_admin_lists_and_searches_users(resources, session):
    admin_user = await make_user(session, roles=(Role.ADMIN,))
    admin = Principal.for_user(admin_user.id, frozenset({Role.ADMIN}), client_address="127.0.0.1")
    tag = uuid.uuid4().hex[:8]
    older = await make_user(session, username=f"Older_{tag}", email=f"older_{tag}@example.com")
    newer = await make_user(session, username=f"newer_{tag}", email=f"NEWER.{tag}@example.com".lower())
    await make_user(session, username=f"other{tag[:4]}x", email=f"100%_{tag[::-1]}@example.com")
    older.created_at = newer.created_at - timedelta(minutes=1)
    await session.flush()
    users = "query($s: String, $n: Int) { users(search: $s, first: $n) { username email roles isActive } }"

    found = await execute(resources, users, {"s": tag.upper(), "n": 10}, admin)
    assert found.errors is None
    assert [u["username"] for u in found.data["users"]] == [newer.username, older.username]  # newest first
    assert found.data["users"][0]["email"] == newer.email and found.data["users"][0]["roles"] == ["CREATOR"]
    # `%` and `_` are matched as themselves, not as patterns
    assert (
        (await execute(resources, users, {"s": "100%_", "n": 10}, admin))
        .data["users"][0]["email"]
        .startswith("100%_")
    )
    assert (await execute(resources, users, {"s": f"_{tag}_", "n": 10}, admin)).data["users"] == []
    assert len((await execute(resources, users, {"s": None, "n": 2}, admin)).data["users"]) == 2
    for bad in (0, 101, -1):
        r = await execute(resources, users, {"s": None, "n": bad}, admin)
        assert codes(r) == ["BAD_USER_INPUT"] and r.errors[0].extensions["field"] == "first"
    creator = Principal.for_user(older.id, frozenset({Role.CREATOR}))
    assert codes(await execute(resources, users, {"s": None, "n": 5}, creator)) == ["FORBIDDEN"]


async def test_subscription_grants_plan_role(resources, session):
    reg = await register(resources)
    admin_user = await make_user(session, roles=(Role.ADMIN,))
    admin = Principal.for_user(admin_user.id, frozenset({Role.ADMIN}))
    q = """mutation($u: ID!, $p: String!) { setSubscription(userId: $u, plan: $p) { plan role status } }"""
    r = await execute(resources, q, {"u": reg["user"]["id"], "p": "premium"}, admin)
    assert r.data["setSubscription"] == {"plan": "premium", "role": "PREMIUM", "status": "active"}
    assert Role.PREMIUM in (await principal(resources, reg["accessToken"])).roles
    assert codes(await execute(resources, q, {"u": reg["user"]["id"], "p": "platinum"}, admin)) == [
        "BAD_USER_INPUT"
    ]


def _mail_token(resources, to: str) -> str:
    import email
    from email import policy

    msgs = [
        email.message_from_bytes(m.read_bytes(), policy=policy.default)
        for m in sorted(outbox_dir(resources.settings).glob("*.eml"))
    ]
    bodies = [m.get_body() for m in msgs if m["To"] == to]
    assert bodies[-1] is not None
    body = bodies[-1].get_content()
    return re.findall(r"token=([A-Za-z0-9_.-]+)", body)[-1]


async def test_email_verification(resources, session):
    reg = await register(resources)
    email = f"{reg['user']['username']}@example.com".lower()
    token = _mail_token(resources, email)
    q = "mutation($t: String!) { verifyEmail(token: $t) }"
    assert (await execute(resources, q, {"t": token})).data["verifyEmail"] is True
    assert codes(await execute(resources, q, {"t": token})) == ["BAD_USER_INPUT"]  # single use
    p = await principal(resources, reg["accessToken"])
    assert (await execute(resources, ME, None, p)).data["me"]["emailVerified"] is True
    # a reset token is not a verification token (purpose-bound)
    await execute(resources, "mutation($e: String!) { requestPasswordReset(email: $e) }", {"e": email})
    assert codes(await execute(resources, q, {"t": _mail_token(resources, email)})) == ["BAD_USER_INPUT"]


async def test_password_reset_ends_every_session(resources):
    reg = await register(resources)
    email = f"{reg['user']['username']}@example.com".lower()
    ask = "mutation($e: String!) { requestPasswordReset(email: $e) }"
    assert (await execute(resources, ask, {"e": "nobody-" + email})).data["requestPasswordReset"] is True
    assert (await execute(resources, ask, {"e": email})).data["requestPasswordReset"] is True
    token = _mail_token(resources, email)
    reset = "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }"
    assert (await execute(resources, reset, {"t": token, "p": "brand-new-Passphrase-9"})).errors is None
    assert codes(await execute(resources, reset, {"t": token, "p": "another-Passphrase-9"})) == [
        "BAD_USER_INPUT"
    ]
    assert codes(await execute(resources, REFRESH, {"t": reg["refreshToken"]})) == ["UNAUTHENTICATED"]
    with pytest.raises(Exception, match="no longer valid"):
        await principal(resources, reg["accessToken"])
    assert codes(await login(resources, reg["user"]["username"])) == ["UNAUTHENTICATED"]
    assert (await login(resources, reg["user"]["username"], "brand-new-Passphrase-9")).errors is None


async def test_change_password(resources):
    reg = await register(resources)
    p = await principal(resources, reg["accessToken"])
    q = """mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) {
      accessToken } }"""
    assert codes(await execute(resources, q, {"c": "wrong-one-123", "n": "fresh-Passphrase-77"}, p)) == [
        "BAD_USER_INPUT"
    ]
    r = await execute(resources, q, {"c": PASSWORD, "n": "fresh-Passphrase-77"}, p)
    assert r.errors is None
    with pytest.raises(Exception, match="no longer valid"):
        await principal(resources, reg["accessToken"])
    assert (await principal(resources, r.data["changePassword"]["accessToken"])).user_id == p.user_id


async def test_api_key_auth_and_revocation(resources):
    from domain.authentication import authenticate_http
    from domain.errors import Unauthenticated

    reg = await register(resources)
    p = await principal(resources, reg["accessToken"])
    made = await execute(
        resources, 'mutation { createApiKey(name: "partner") { key apiKey { id prefix } } }', None, p
    )
    key = made.data["createApiKey"]["key"]
    kp = await authenticate_http(resources, {"x-api-key": key}, "127.0.0.1")
    assert kp.user_id == p.user_id and kp.api_key_id is not None
    with pytest.raises(Unauthenticated):
        await authenticate_http(resources, {"x-api-key": key[:-2] + "xx"}, "127.0.0.1")
    assert codes(await execute(resources, 'mutation { createApiKey(name: "k2") { key } }', None, kp)) == [
        "FORBIDDEN"
    ]
    revoke = "mutation($id: ID!) { revokeApiKey(id: $id) }"
    assert (
        await execute(resources, revoke, {"id": made.data["createApiKey"]["apiKey"]["id"]}, p)
    ).errors is None
    with pytest.raises(Unauthenticated):
        await authenticate_http(resources, {"x-api-key": key}, "127.0.0.1")


async def test_persisted_queries(resources, session):
    from resolvers.root import schema

    query = "{ me { username } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}

    async def run(q, extensions, who=None):
        ctx = Context(resources=resources, principal=who or Principal.anonymous("127.0.0.1"))
        return await schema.execute(q, context_value=ctx, operation_extensions=extensions)

    assert codes(await run(None, ext)) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert codes(await run("{ __typename }", ext)) == ["BAD_USER_INPUT"]
    assert (await run(query, ext)).errors is None
    assert (await run(None, ext)).data == {"me": None}
    # partners on API keys, when persisted_queries_only: allow-listed documents only
    resources.settings.persisted_queries_only = True
    try:
        user = await make_user(session)
        partner = Principal.for_user(user.id, frozenset({Role.CREATOR}), api_key_id=uuid.uuid4())
        assert codes(await run(query, None, partner)) == ["PERSISTED_QUERY_NOT_ALLOWED"]
        assert codes(await run(None, ext, partner)) == ["PERSISTED_QUERY_NOT_ALLOWED"]
        root = Principal.for_user(user.id, frozenset({Role.SUPER_ADMIN}))
        allow = "mutation($d: String!) { allowlistPersistedQuery(document: $d) }"
        assert (await execute(resources, allow, {"d": query}, root)).data["allowlistPersistedQuery"] == digest
        assert (await run(None, ext, partner)).data["me"]["username"] == user.username
        assert (await run(query, None)).errors is None  # people are not restricted
    finally:
        resources.settings.persisted_queries_only = False


def test_crypto_roundtrip_and_rotation(settings):
    from cryptography.fernet import Fernet

    token = encrypt(settings, "s3cret")
    assert token != b"s3cret" and decrypt(settings, token) == "s3cret"
    rotated = settings.model_copy(update={"encryption_key": None})
    rotated.__dict__["encryption_keys"] = [Fernet.generate_key().decode(), *settings.encryption_keys]
    assert decrypt(rotated, token) == "s3cret"
    other = settings.model_copy()
    other.__dict__["encryption_keys"] = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError):
        decrypt(other, token)
