"""Token attacks: each must be refused with UNAUTHENTICATED."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import select

from domain import tokens
from domain.errors import Unauthenticated
from persistence.accounts import RefreshToken
from persistence.user import User
from runtime.settings import Settings
from tests.auth.helpers import LOGOUT, ME, REFRESH, codes, execute, login, principal, register


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def _refused(resources, token: str) -> None:
    with pytest.raises(Unauthenticated):
        await principal(resources, token)


async def test_valid_access_token_has_the_required_claims(resources):
    reg = await register(resources)
    claims = jwt.decode(reg["accessToken"], options={"verify_signature": False})
    assert {"sub", "jti", "type", "iat", "exp", "iss", "aud"} <= set(claims)
    assert claims["type"] == "access" and claims["exp"] - claims["iat"] == pytest.approx(900, abs=1)
    refresh = jwt.decode(reg["refreshToken"], options={"verify_signature": False})
    assert refresh["type"] == "refresh" and refresh["exp"] - refresh["iat"] == pytest.approx(
        30 * 86400, abs=1
    )
    p = await principal(resources, reg["accessToken"])
    assert str(p.user_id) == claims["sub"]


async def test_expired_token(resources):
    reg = await register(resources)
    sub = jwt.decode(reg["accessToken"], options={"verify_signature": False})["sub"]
    old, _ = tokens.encode(
        resources.settings,
        sub=uuid.UUID(sub),
        type=tokens.ACCESS,
        jti="x1",
        lifetime=timedelta(minutes=15),
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    await _refused(resources, old)


async def test_wrong_signature_alg_none_and_wrong_claims(resources):
    reg = await register(resources)
    good = reg["accessToken"]
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode(claims, "another-secret-" + "z" * 40, algorithm="HS256")
    await _refused(resources, forged)
    none_token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    await _refused(resources, none_token)
    _, payload, sig = good.split(".")
    await _refused(resources, f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.{sig}")
    for bad in (
        {**claims, "aud": "someone-else"},
        {**claims, "iss": "evil"},
        {k: v for k, v in claims.items() if k != "jti"},
    ):
        await _refused(resources, jwt.encode(bad, resources.settings.signing_secret, algorithm="HS256"))
    await _refused(resources, "not-a-jwt")


async def test_refresh_token_is_not_an_access_token(resources):
    reg = await register(resources)
    await _refused(resources, reg["refreshToken"])
    # and an access token cannot refresh
    result = await execute(resources, REFRESH, {"t": reg["accessToken"]})
    assert codes(result) == ["UNAUTHENTICATED"]


async def test_logout_revokes_the_access_token_jti(resources):
    reg = await register(resources)
    p = await principal(resources, reg["accessToken"])
    result = await execute(resources, LOGOUT, {"t": reg["refreshToken"]}, p)
    assert result.errors is None and result.data["logout"] is True
    await _refused(resources, reg["accessToken"])
    assert codes(await execute(resources, REFRESH, {"t": reg["refreshToken"]})) == ["UNAUTHENTICATED"]
    key = resources.key("auth", "revoked", p.token_jti)
    assert 0 < await resources.redis.ttl(key) <= 15 * 60 + 10


async def test_refresh_rotates_and_reuse_revokes_the_family(resources, session):
    reg = await register(resources)
    first = await execute(resources, REFRESH, {"t": reg["refreshToken"]})
    assert first.errors is None
    second_refresh = first.data["refreshToken"]["refreshToken"]
    assert second_refresh != reg["refreshToken"]
    # the spent token is presented again: theft — the whole family dies, even the newest token
    reuse = await execute(resources, REFRESH, {"t": reg["refreshToken"]})
    assert codes(reuse) == ["UNAUTHENTICATED"]
    after = await execute(resources, REFRESH, {"t": second_refresh})
    assert codes(after) == ["UNAUTHENTICATED"]
    jti = uuid.UUID(jwt.decode(second_refresh, options={"verify_signature": False})["jti"])
    row = (await session.scalars(select(RefreshToken).where(RefreshToken.jti == jti))).one()
    assert row.revoked_at is not None
    # the stolen session's access tokens die with it (not 15 minutes later), old and new
    await _refused(resources, reg["accessToken"])
    await _refused(resources, first.data["refreshToken"]["accessToken"])
    # other sessions of the same user are untouched
    other = await login(resources, reg["user"]["username"])
    assert (await principal(resources, other.data["login"]["accessToken"])).user_id is not None
    assert (await execute(resources, REFRESH, {"t": other.data["login"]["refreshToken"]})).errors is None


async def test_deactivated_user_is_refused_at_once(resources, session):
    reg = await register(resources)
    p = await principal(resources, reg["accessToken"])  # caches the auth state
    admin = await register(resources)
    from domain.identity import Principal
    from persistence.enums import Role

    admin_p = Principal.for_user(
        uuid.UUID(jwt.decode(admin["accessToken"], options={"verify_signature": False})["sub"]),
        frozenset({Role.ADMIN}),
    )
    result = await execute(
        resources,
        "mutation($id: ID!) { deactivateUser(id: $id) { isActive } }",
        {"id": reg["user"]["id"]},
        admin_p,
    )
    assert result.errors is None and result.data["deactivateUser"]["isActive"] is False
    await _refused(resources, reg["accessToken"])
    assert codes(await execute(resources, REFRESH, {"t": reg["refreshToken"]})) == ["UNAUTHENTICATED"]
    assert codes(await login(resources, reg["user"]["username"])) == ["UNAUTHENTICATED"]
    assert p.user_id is not None
    row = await session.get(User, p.user_id)
    assert row is not None and row.is_active is False
    me = await execute(resources, ME, principal=admin_p)
    assert me.errors is None


def _rsa_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_rs256_and_algorithm_confusion(tmp_path):
    private, public = _rsa_pair()
    settings = Settings(
        environment="test",
        data_dir=tmp_path,
        jwt_algorithm="RS256",
        jwt_private_key=private,
        jwt_public_key=public,
        _env_file=None,
    )
    sub = uuid.uuid4()
    token, _ = tokens.encode(settings, sub=sub, type=tokens.ACCESS, jti="j", lifetime=timedelta(minutes=5))
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert tokens.decode(settings, token, tokens.ACCESS).sub == sub
    claims = jwt.decode(token, options={"verify_signature": False})
    # HS256 signed with the public key as the "secret": the classic confusion attack
    import hmac
    from hashlib import sha256

    header = _b64({"alg": "HS256", "typ": "JWT"})
    body = _b64(claims)
    sig = base64.urlsafe_b64encode(hmac.new(public.encode(), f"{header}.{body}".encode(), sha256).digest())
    confused = f"{header}.{body}.{sig.decode().rstrip('=')}"
    with pytest.raises(Unauthenticated):
        tokens.decode(settings, confused, tokens.ACCESS)
