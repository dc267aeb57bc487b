"""Issue #10 item 7: what the API logs about errors. Expected errors are no ERROR (and carry no
document); an unexpected one is logged exactly once, redacted, with the request id the client
received in `extensions.requestId` and the `X-Request-Id` header."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

SECRET = "hunter2-Sup3r-Secret-passphrase"
EMAIL = "ada@" + "example.com"
LOGIN = 'mutation { login(input: {login: "nobody@example.com", password: "SECRET"}) { accessToken } }'


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records)


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_failed_login_with_inline_password_logs_no_secret_and_no_error(app_client, caplog):
    caplog.set_level(logging.DEBUG)
    async with app_client() as client:
        r = await client.post("/graphql", json={"query": LOGIN.replace("SECRET", SECRET)})
        assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        # other expected failures: bad input, not found, too complex, parse and validation errors
        await client.post("/graphql", json={"query": '{ video(id: "' + SECRET + '") { id } }'})
        await client.post("/graphql", json={"query": "{ me { id } " + SECRET})
        await client.post("/graphql", json={"query": '{ nope(x: "' + SECRET + '") }'})
        aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(60)) + " }"
        too_complex = (await client.post("/graphql", json={"query": aliases})).json()
        assert too_complex["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert SECRET not in _log_text(caplog)
    assert not _errors(caplog), _log_text(caplog)
    assert not [r for r in caplog.records if r.exc_info], "expected errors carry no traceback"


async def test_unexpected_error_is_logged_once_with_the_request_id(app_client, caplog, monkeypatch):
    import domain.user

    async def broken(session, principal):
        raise RuntimeError(f"token {SECRET!r} for {EMAIL}")

    monkeypatch.setattr(domain.user, "get_me", broken)
    caplog.set_level(logging.DEBUG)
    async with app_client() as client:
        r = await client.post("/graphql", json={"query": "{ me { id } }"})
    error = r.json()["errors"][0]
    rid = r.headers["x-request-id"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": rid}
    assert error["message"] == "Internal server error."
    logged = _errors(caplog)
    assert len(logged) == 1, _log_text(caplog)
    assert rid in logged[0].getMessage() and "RuntimeError" in logged[0].getMessage()
    assert "broken" in logged[0].getMessage(), "the traceback's frames are kept"
    assert sum(rid in r.getMessage() for r in caplog.records) == 1
    assert SECRET not in _log_text(caplog) and EMAIL not in _log_text(caplog)


async def test_sql_error_logs_no_parameters(app_client, caplog, monkeypatch):
    import domain.user

    async def broken(session, principal):
        await session.execute(text("SELECT CAST(:p AS integer)"), {"p": f"$argon2id$v=19${SECRET}"})

    monkeypatch.setattr(domain.user, "get_me", broken)
    caplog.set_level(logging.DEBUG)
    async with app_client() as client:
        r = await client.post("/graphql", json={"query": "{ me { id } }"})
    assert r.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    logged = _errors(caplog)
    assert len(logged) == 1 and "DBAPIError" in logged[0].getMessage(), _log_text(caplog)
    assert SECRET not in _log_text(caplog)


async def test_request_id_header_and_exceptions_outside_graphql(app_client, caplog, monkeypatch):
    import runtime.health

    caplog.set_level(logging.DEBUG)
    async with app_client() as client:
        sane = await client.get("/healthz", headers={"X-Request-Id": "lb-1234.abc_DEF:9"})
        assert sane.headers["x-request-id"] == "lb-1234.abc_DEF:9"
        for insane in ("x" * 65, "a b", "<script>", "\xe9".encode("latin-1")):
            got = (await client.get("/healthz", headers={"X-Request-Id": insane})).headers["x-request-id"]
            assert got != insane and len(got) == 32
        a, b = (
            (await client.get("/healthz")).headers["x-request-id"],
            (await client.get("/healthz")).headers["x-request-id"],
        )
        assert a != b

        async def broken(resources):
            raise RuntimeError(f"password={SECRET!r}")

        monkeypatch.setattr(runtime.health, "readiness", broken)
        r = await client.get("/readyz")
    assert r.status_code == 500 and r.headers["x-request-id"] in r.text
    logged = _errors(caplog)
    assert len(logged) == 1 and r.headers["x-request-id"] in logged[0].getMessage()
    assert SECRET not in _log_text(caplog)


def test_redaction():
    from runtime.logs import redact

    samples = {
        "invalid input for query argument $1: 'p@ss w0rd'": "p@ss w0rd",
        'invalid input syntax for type integer: "s3cret"': "s3cret",
        "DETAIL:  Key (email)=(ada@example.com) already exists.": "ada@example.com",
        "[SQL: SELECT 1]\n[parameters: ('hash', 'x@y.z')]": "hash",
        "Authorization: Bearer abc.def.ghi": "abc.def.ghi",
        "key av_0123456789abcdef0123456789abcdef0123": "0123456789abcdef0123456789abcdef",
        "hash $argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA": "c2FsdA",
        "mail to someone.else+tag@mail.example.org failed": "someone.else",
    }
    for message, secret in samples.items():
        assert secret not in redact(message), message
    assert redact("duplicate key value violates unique constraint") == (
        "duplicate key value violates unique constraint"
    )
