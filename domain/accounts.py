"""Accounts: register, sign in, refresh, sign out, profile, passwords, email verification.

Domain functions never commit. Work that must outlive a failed operation (failed-login audit,
revoking a family on refresh-token reuse) goes to `hooks.regardless`, in its own transaction;
mail goes to `hooks.after_commit`."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from email_validator import EmailNotValidError, validate_email
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from domain import audit, mail, passwords, ratelimit, tokens
from domain.account_tokens import (
    BAD_LINK,
    family_revoker,
    issue_tokens,
    mail_after_commit,
    one_time_token,
    spend_one_time_token,
    utcnow,
)
from domain.account_tokens import AuthResult as AuthResult
from domain.account_tokens import Client as Client
from domain.authentication import current_roles, forget_after_commit, revoke_family_access, revoke_jti
from domain.errors import BadInput, Conflict, Forbidden, Throttled, Unauthenticated
from domain.hooks import Hooks
from domain.identity import Principal
from domain.permissions import Permission
from persistence.accounts import AccountsRepository
from persistence.enums import Role
from persistence.user import User, UserRepository, UserRole

if TYPE_CHECKING:
    from runtime.resources import Resources

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{3,50}")
VERIFY_EMAIL_LIFETIME = timedelta(hours=24)
RESET_PASSWORD_LIFETIME = timedelta(hours=1)
BAD_LOGIN = "Invalid login or password."
REGISTER_REFUSED = (
    "This account could not be created. If you have one already, sign in or reset your password."
)
SIGNUP_NOTICES_PER_DAY = 3


# ---------------------------------------------------------------- validation


def normalise_username(username: str) -> str:
    username = username.strip()
    if not USERNAME_RE.fullmatch(username):
        raise BadInput(
            "Usernames have 3 to 50 characters: letters, digits, '_', '.' or '-'.", field="username"
        )
    return username


def normalise_email(email: str, field: str = "email") -> str:
    try:
        info = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise BadInput("This is not a valid email address.", field=field) from None
    return info.normalized.lower()


def _text(value: str | None, field: str, max_len: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > max_len:
        raise BadInput(f"At most {max_len} characters.", field=field)
    return value or None


def _url(value: str | None, field: str) -> str | None:
    value = _text(value, field, 500)
    if value is not None and not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", value, flags=re.IGNORECASE):
        raise BadInput("Use an http(s) URL.", field=field)
    return value


# ---------------------------------------------------------------- accounts


class _Taken(Exception):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field  # "username" or "email"


async def _new_user(
    session: AsyncSession,
    username: str,
    email: str,
    password_hash: str,
    *,
    full_name: str | None,
    roles: tuple[Role, ...],
    email_verified: bool = False,
) -> User:
    """Raises _Taken (username first: usernames are public) when the name or email is in use."""
    repo = UserRepository(session)
    if await repo.username_taken(username):
        raise _Taken("username")
    if await repo.email_taken(email):
        raise _Taken("email")
    user = User(
        username=username,
        email=email,
        password_hash=password_hash,
        full_name=full_name,
        email_verified=email_verified,
    )
    if not await repo.insert_unique(user):  # a concurrent sign-up took one of them
        raise _Taken("username" if await repo.username_taken(username) else "email")
    for role in roles:
        repo.add_role(UserRole(user_id=user.id, role=role))
    await session.flush()
    return user


def _audit_own(
    session: AsyncSession, action: str, user_id: uuid.UUID, client: Client, **details: object
) -> None:
    """Record what user `user_id` did to their own account, in this transaction."""
    audit.record(
        session,
        action,
        actor_id=user_id,
        target_type="User",
        target_id=user_id,
        address=client.address,
        **details,
    )


async def register(
    session: AsyncSession,
    resources: Resources,
    hooks: Hooks,
    *,
    username: str,
    email: str,
    password: str,
    full_name: str | None,
    client: Client,
) -> AuthResult:
    """A username in use is said (usernames are public). An email in use is not: the answer is
    REGISTER_REFUSED, with no field, and the address's owner gets a mail saying someone tried to
    sign up with it (at most SIGNUP_NOTICES_PER_DAY a day)."""
    username = normalise_username(username)
    email = normalise_email(email)
    full_name = _text(full_name, "fullName", 100)
    passwords.check_policy(password, username=username, email=email)
    await ratelimit.hit(resources, "register", client.address or "unknown", limit=20, window=3600)
    password_hash = await passwords.hash_password(password, resources.settings)
    try:
        user = await _new_user(
            session, username, email, password_hash, full_name=full_name, roles=(Role.CREATOR,)
        )
    except _Taken as taken:
        if taken.field == "username":
            raise Conflict("This username is taken.", field="username") from None
        owner = await UserRepository(session).by_email(email)
        if owner is not None:
            hooks.regardless(_signup_notice(resources, owner, client))
        raise BadInput(REGISTER_REFUSED) from None
    _audit_own(session, audit.REGISTER, user.id, client)
    await _send_verification(session, resources, hooks, user)
    return await issue_tokens(session, resources, user, client)


def _signup_notice(resources: Resources, owner: User, client: Client):  # type: ignore[no-untyped-def]
    """Runs after the (failed) operation: audit the attempt, then tell the address's owner."""
    owner_id, to, name = owner.id, owner.email, owner.username
    base = resources.settings.public_base_url.rstrip("/")

    async def run() -> None:
        await audit.record_detached(
            resources,
            audit.REGISTER_REFUSED,
            actor_id=None,
            target_type="User",
            target_id=owner_id,
            address=client.address,
            reason="email_taken",
        )
        try:
            await ratelimit.hit(resources, "signup-notice", to, limit=SIGNUP_NOTICES_PER_DAY, window=86400)
        except Throttled:
            return
        except RedisError:
            log.warning("sign-up notice sent unthrottled: Redis unavailable")
        body = (
            f"Hello {name},\n\nSomeone just tried to create an Auto Video account with this email "
            "address. It already belongs to your account, so no new account was made.\n\n"
            f"If it was you: sign in as {name}, or reset your password at {base}/reset-password.\n"
            "If it was not you, ignore this message: your account has not changed.\n"
        )
        await mail.send(resources.settings, to, "Someone tried to sign up with your email", body)

    return run


async def create_super_admin(session: AsyncSession, username: str, email: str, password: str) -> User:
    """`autovideo create-admin`: a verified account with SUPER_ADMIN (strong hashing parameters)."""
    username = normalise_username(username)
    email = normalise_email(email)
    passwords.check_policy(password, username=username, email=email)
    try:
        user = await _new_user(
            session,
            username,
            email,
            await passwords.hash_password(password),
            full_name=None,
            roles=(Role.SUPER_ADMIN,),
            email_verified=True,
        )
    except _Taken as taken:  # the operator of the command line may know
        raise Conflict(f"This {taken.field} is in use already.", field=taken.field) from None
    audit.record(session, audit.ADMIN_CREATED, actor_id=None, target_type="User", target_id=user.id)
    return user


async def login(
    session: AsyncSession, resources: Resources, hooks: Hooks, *, login: str, password: str, client: Client
) -> AuthResult:
    settings = resources.settings
    login = login.strip()[:255]
    user = await UserRepository(session).by_login(login) if login else None
    account = str(user.id) if user else login.lower()
    target = user.id if user else None

    def audit_refusal(action: str, **details: object) -> None:
        """In a transaction of its own, after the (failed) operation."""
        hooks.regardless(
            lambda: audit.record_detached(
                resources,
                action,
                actor_id=None,
                target_type="User" if target else None,
                target_id=target,
                address=client.address,
                **details,
            )
        )

    try:
        await ratelimit.check_login(resources, account, client.address)
    except Throttled as exc:
        audit_refusal(audit.LOGIN_THROTTLED, retry_after=exc.retry_after)
        raise
    if user is None:
        await passwords.burn_verify(password, settings)
        ok = False
    else:
        ok = await passwords.verify_password(user.password_hash, password, settings) and user.is_active
    if not ok or user is None:
        # Audited first (in a transaction of its own, after the operation): whatever Redis does
        # next, the failure is on record and the answer stays UNAUTHENTICATED.
        audit_refusal(
            audit.LOGIN_FAILED, reason="unknown_login" if target is None else "bad_password_or_inactive"
        )
        try:
            await ratelimit.login_failed(resources, account, client.address)
        except RedisError:
            log.warning("a failed sign-in was not counted: Redis unavailable")
        raise Unauthenticated(BAD_LOGIN)
    if passwords.needs_rehash(user.password_hash, settings):
        user.password_hash = await passwords.hash_password(password, settings)
    user.last_login_at = utcnow()
    try:
        await ratelimit.login_succeeded(resources, account, client.address)
    except RedisError:
        log.warning("the sign-in counters were not reset: Redis unavailable")
    _audit_own(session, audit.LOGIN, user.id, client)
    return await issue_tokens(session, resources, user, client)


async def refresh(
    session: AsyncSession, resources: Resources, hooks: Hooks, *, refresh_token: str, client: Client
) -> AuthResult:
    """Rotate: spend this refresh token and issue a new pair in the same family. A spent token
    presented again means it was stolen (or replayed): the whole family is revoked."""
    claims = tokens.decode(resources.settings, refresh_token, tokens.REFRESH)
    try:
        jti = uuid.UUID(claims.jti)
    except ValueError:
        raise Unauthenticated("The token is not valid.") from None
    repo = AccountsRepository(session)
    row = await repo.refresh_token(jti, for_update=True)
    if row is None or row.user_id != claims.sub:
        raise Unauthenticated("The token is not valid.")
    if row.revoked_at is not None:
        raise Unauthenticated("This session has ended; sign in again.")
    if row.spent_at is not None:
        hooks.regardless(family_revoker(resources, row.family_id, row.user_id, client))
        raise Unauthenticated("This session has ended; sign in again.")
    await current_roles(resources, row.user_id, issued_at=claims.issued_at)
    user = await UserRepository(session).get(row.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("The token is not valid.")
    row.spent_at = utcnow()
    return await issue_tokens(session, resources, user, client, family_id=row.family_id, parent=row.jti)


async def logout(
    session: AsyncSession,
    resources: Resources,
    principal: Principal,
    *,
    refresh_token: str | None,
    client: Client,
) -> bool:
    """Revoke this request's access token (until it expires) and, when given, the refresh
    token's whole family (its session)."""
    user_id = principal.require_user()
    if principal.token_jti:
        await revoke_jti(resources, principal.token_jti, principal.token_expires_at)
    family = None
    if refresh_token:
        try:
            claims = tokens.decode(resources.settings, refresh_token, tokens.REFRESH, verify_exp=False)
            jti = uuid.UUID(claims.jti)
        except (Unauthenticated, ValueError):
            raise BadInput("The refresh token is not valid.", field="refreshToken") from None
        repo = AccountsRepository(session)
        row = await repo.refresh_token(jti)
        if row is not None and row.user_id == user_id:
            family = row.family_id
            await repo.revoke_family(row.family_id, utcnow())
            await revoke_family_access(resources, row.family_id)
    _audit_own(
        session,
        audit.LOGOUT,
        user_id,
        client,
        jti=principal.token_jti,
        family=str(family) if family else None,
    )
    return True


async def update_profile(session: AsyncSession, principal: Principal, changes: dict[str, str | None]) -> User:
    """`changes` holds only the fields the client sent; None clears a field."""
    user_id = principal.require(Permission.USER_UPDATE)
    user = await UserRepository(session).get(user_id)
    if user is None:
        raise Unauthenticated("Sign in to do this.")
    limits = {"full_name": ("fullName", 100), "bio": ("bio", 2000), "location": ("location", 100)}
    for name, value in changes.items():
        if name in limits:
            setattr(user, name, _text(value, *limits[name]))
        elif name in ("avatar_url", "website"):
            setattr(user, name, _url(value, "avatarUrl" if name == "avatar_url" else "website"))
        else:
            raise BadInput("Unknown profile field.", field=name)
    await session.flush()
    return user


async def _set_password(
    session: AsyncSession, resources: Resources, hooks: Hooks, user: User, new_password: str, field: str
) -> None:
    passwords.check_policy(new_password, username=user.username, email=user.email, field=field)
    now = utcnow()
    user.password_hash = await passwords.hash_password(new_password, resources.settings)
    user.password_changed_at = now
    await AccountsRepository(session).revoke_all_for_user(user.id, now)
    await session.flush()
    forget_after_commit(resources, hooks, user.id)


async def change_password(
    session: AsyncSession,
    resources: Resources,
    hooks: Hooks,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    client: Client,
) -> AuthResult:
    """Every existing session ends (tokens issued before now are refused); a fresh pair is returned."""
    user_id = principal.require_user()
    if principal.api_key_id is not None:
        raise Forbidden("API keys cannot change passwords.")
    await ratelimit.hit(resources, "password-change", str(user_id), limit=10, window=3600)
    user = await UserRepository(session).get(user_id)
    if user is None:
        raise Unauthenticated("Sign in to do this.")
    if not await passwords.verify_password(user.password_hash, current_password, resources.settings):
        raise BadInput("The current password is wrong.", field="currentPassword")
    await _set_password(session, resources, hooks, user, new_password, "newPassword")
    _audit_own(session, audit.PASSWORD_CHANGED, user.id, client)
    return await issue_tokens(session, resources, user, client)


# ---------------------------------------------------------------- email verification and reset


async def _send_verification(session: AsyncSession, resources: Resources, hooks: Hooks, user: User) -> None:
    token = await one_time_token(
        session, resources, user, tokens.VERIFY_EMAIL, VERIFY_EMAIL_LIFETIME, email=user.email
    )
    link = f"{resources.settings.public_base_url.rstrip('/')}/verify-email?token={token}"
    body = (
        f"Hello {user.username},\n\nConfirm your email address for Auto Video:\n\n{link}\n\n"
        f"Or use this code with the verifyEmail mutation:\n\n{token}\n\nThe link expires in 24 hours.\n"
    )
    mail_after_commit(resources, hooks, user.email, "Confirm your email address", body)


async def request_email_verification(
    session: AsyncSession, resources: Resources, hooks: Hooks, principal: Principal
) -> bool:
    user_id = principal.require_user()
    user = await UserRepository(session).get(user_id)
    if user is None:
        raise Unauthenticated("Sign in to do this.")
    if user.email_verified:
        return True
    await ratelimit.hit(resources, "verify-mail", str(user_id), limit=5, window=3600)
    await _send_verification(session, resources, hooks, user)
    return True


async def verify_email(session: AsyncSession, resources: Resources, *, token: str, client: Client) -> bool:
    user, claims = await spend_one_time_token(session, resources, token, tokens.VERIFY_EMAIL)
    if claims.extra.get("email") != user.email:
        raise BadInput(BAD_LINK, field="token")
    user.email_verified = True
    _audit_own(session, audit.EMAIL_VERIFIED, user.id, client)
    return True


async def request_password_reset(
    session: AsyncSession, resources: Resources, hooks: Hooks, *, email: str, client: Client
) -> bool:
    """Always True, whether or not an account has this email (no account enumeration)."""
    await ratelimit.hit(resources, "reset-ip", client.address or "unknown", limit=30, window=3600)
    try:
        email = normalise_email(email)
    except BadInput:
        return True
    try:
        await ratelimit.hit(resources, "reset-email", email, limit=5, window=3600)
    except Throttled:
        return True
    user = await UserRepository(session).by_email(email)
    if user is None or not user.is_active:
        return True
    token = await one_time_token(session, resources, user, tokens.RESET_PASSWORD, RESET_PASSWORD_LIFETIME)
    link = f"{resources.settings.public_base_url.rstrip('/')}/reset-password?token={token}"
    body = (
        f"Hello {user.username},\n\nSomeone asked to reset your Auto Video password. If it was you:\n\n"
        f"{link}\n\nOr use this code with the resetPassword mutation:\n\n{token}\n\n"
        "The link expires in one hour. If it was not you, ignore this message.\n"
    )
    mail_after_commit(resources, hooks, user.email, "Reset your password", body)
    audit.record(
        session,
        audit.PASSWORD_RESET_REQUESTED,
        actor_id=None,
        target_type="User",
        target_id=user.id,
        address=client.address,
    )
    return True


async def reset_password(
    session: AsyncSession,
    resources: Resources,
    hooks: Hooks,
    *,
    token: str,
    new_password: str,
    client: Client,
) -> bool:
    """Sets the password and ends every session of the account (all refresh families)."""
    user, _ = await spend_one_time_token(session, resources, token, tokens.RESET_PASSWORD)
    await _set_password(session, resources, hooks, user, new_password, "newPassword")
    now = utcnow()
    await AccountsRepository(session).spend_one_time_tokens(user.id, tokens.RESET_PASSWORD, now)
    user.email_verified = True
    _audit_own(session, audit.PASSWORD_RESET, user.id, client)
    return True
