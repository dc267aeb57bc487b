"""`register` does not tell whether an email has an account (as requestPasswordReset does not):
a taken email answers the same refusal as any other email that cannot be used, and the address's
owner is told by mail instead. A taken username is said: usernames are public."""

from __future__ import annotations

import email

import jwt
from sqlalchemy import func, select

from domain import accounts
from domain.mail import outbox_dir
from persistence.audit import AuditEvent
from persistence.user import User
from tests.auth.helpers import PASSWORD, REGISTER, codes, execute, register, unique_name


def _mails(resources, to: str) -> list[email.message.Message]:
    out = []
    for path in sorted(outbox_dir(resources.settings).glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes())
        if msg["To"] == to:
            out.append(msg)
    return out


async def _register(resources, username: str, address: str):
    variables = {"input": {"username": username, "email": address, "password": PASSWORD}}
    return await execute(resources, REGISTER, variables)


async def test_a_taken_email_is_not_disclosed_and_its_owner_is_told(resources, session):
    owner = await register(resources)
    taken = f"{owner['user']['username']}@example.com"
    before = len(_mails(resources, taken))  # the owner's verification mail
    r = await _register(resources, unique_name(), taken.upper())
    assert codes(r) == ["BAD_USER_INPUT"]
    error = r.errors[0]
    assert error.message == accounts.REGISTER_REFUSED and "field" not in error.extensions
    assert "email" not in error.message.lower() and "exist" not in error.message.lower()
    count = await session.scalar(select(func.count()).select_from(User).where(User.email == taken))
    assert count == 1  # nothing was created
    notices = _mails(resources, taken)[before:]
    assert len(notices) == 1 and "tried to" in notices[0]["Subject"]
    body = notices[0].get_payload()
    assert owner["user"]["username"] in body and "reset" in body
    owner_id = jwt.decode(owner["accessToken"], options={"verify_signature": False})["sub"]
    refused = select(AuditEvent).where(AuditEvent.action == "auth.register_refused")
    rows = (await session.scalars(refused)).all()
    assert [(r.target_id, r.detail["reason"], str(r.client_address)) for r in rows] == [
        (owner_id, "email_taken", "127.0.0.1")
    ]


async def test_the_refusal_looks_the_same_whoever_owns_the_email(resources):
    """Two different taken addresses answer byte for byte the same error."""
    first, second = await register(resources), await register(resources)
    answers = []
    for who in (first, second):
        r = await _register(resources, unique_name(), f"{who['user']['username']}@example.com")
        answers.append((codes(r), r.errors[0].message, dict(r.errors[0].extensions)))
    assert answers[0] == answers[1]


async def test_the_owner_is_not_flooded_with_notices(resources):
    owner = await register(resources)
    taken = f"{owner['user']['username']}@example.com"
    before = len(_mails(resources, taken))
    for _ in range(accounts.SIGNUP_NOTICES_PER_DAY + 3):
        r = await _register(resources, unique_name(), taken)
        assert r.errors[0].message == accounts.REGISTER_REFUSED  # the answer never changes
    assert len(_mails(resources, taken)) - before == accounts.SIGNUP_NOTICES_PER_DAY


async def test_a_taken_username_is_said(resources):
    owner = await register(resources)
    r = await _register(resources, owner["user"]["username"].upper(), f"{unique_name()}@example.com")
    assert codes(r) == ["CONFLICT"] and r.errors[0].extensions["field"] == "username"
