"""Documents too deep or too large are refused before execution with QUERY_TOO_COMPLEX."""

from tests.factories import make_user, principal_for
from tests.gql import codes, execute


def nested(depth: int) -> str:
    inner = "title"
    for _ in range(depth):
        inner = f"videos {{ edges {{ node {{ owner {{ {inner} }} }} }} }}"
    return "{ me { " + inner.replace("owner { title }", "title") + " } }"


async def test_too_deep_is_query_too_complex(resources, session):
    user = await make_user(session)
    r = await execute(resources, nested(6), principal=principal_for(user))
    assert codes(r) == ["QUERY_TOO_COMPLEX"], r.errors
    r = await execute(resources, nested(1), principal=principal_for(user))
    assert r.errors is None, r.errors


async def test_too_many_tokens_is_query_too_complex(resources):
    big = "{ " + " ".join(f"a{i}: __typename" for i in range(2100)) + " }"
    r = await execute(resources, big)
    assert codes(r) == ["QUERY_TOO_COMPLEX"], r.errors
    assert "internal" not in r.errors[0].message.lower()


async def test_too_many_aliases_is_query_too_complex(resources):
    many = "{ " + " ".join(f"a{i}: __typename" for i in range(60)) + " }"
    assert codes(await execute(resources, many)) == ["QUERY_TOO_COMPLEX"]
    assert (await execute(resources, "{ a: __typename b: __typename }")).errors is None
