"""User B can read, change, cancel or delete nothing of user A's — by id or through `node`.

`OPERATIONS_ON_A_VIDEO` is the list to extend as video mutations land: each entry is a document
taking `$id` (the victim's video global id); B must get NOT_FOUND from every one."""

import uuid

import pytest

from domain.identity import Principal
from persistence.enums import Role
from schema.node import to_global_id
from tests.factories import make_user, make_video
from tests.gql import codes, execute

OPERATIONS_ON_A_VIDEO: list[str] = [
    "query($id: ID!) { video(id: $id) { id title } }",
    "query($id: ID!) { node(id: $id) { id ... on Video { title } } }",
    "mutation($id: ID!) { cancelVideo(id: $id) { id } }",
    "mutation($id: ID!) { retryVideo(id: $id) { id } }",
    "mutation($id: ID!) { deleteVideo(id: $id) }",
]


def _existing_operations() -> list[str]:
    from resolvers.root import schema

    query, mutation = schema._schema.query_type, schema._schema.mutation_type
    assert query is not None and mutation is not None
    fields = {**query.fields, **mutation.fields}
    return [op for op in OPERATIONS_ON_A_VIDEO if op.split("{", 2)[1].split("(")[0].strip() in fields]


async def assert_private_to_owner(resources, owner: Principal, other: Principal, video_gid: str) -> None:
    """The helper to reuse: every operation on the owner's video is NOT_FOUND for `other`."""
    for op in _existing_operations():
        result = await execute(resources, op, {"id": video_gid}, other)
        assert codes(result) == ["NOT_FOUND"], (op, result.errors)


@pytest.fixture
async def two_users(session):
    a = await make_user(session, roles=(Role.PREMIUM,))
    b = await make_user(session, roles=(Role.PREMIUM,))
    return a, b


async def test_user_b_cannot_touch_user_a_video(resources, session, two_users):
    a, b = two_users
    video = await make_video(session, a)
    gid = to_global_id("Video", video.id)
    pa = Principal.for_user(a.id, frozenset({Role.PREMIUM}))
    pb = Principal.for_user(b.id, frozenset({Role.PREMIUM}))
    await assert_private_to_owner(resources, pa, pb, gid)
    own = await execute(resources, "query($id: ID!) { video(id: $id) { title } }", {"id": gid}, pa)
    assert own.errors is None and own.data["video"]["title"] == video.title
    mine = await execute(resources, "{ videos { totalCount } }", None, pb)
    assert mine.data["videos"]["totalCount"] == 0
    # and the "does not exist" answer is the same as for a random id
    missing = await execute(
        resources,
        "query($id: ID!) { video(id: $id) { id } }",
        {"id": to_global_id("Video", uuid.uuid4())},
        pb,
    )
    other = await execute(resources, "query($id: ID!) { video(id: $id) { id } }", {"id": gid}, pb)
    assert missing.errors[0].message == other.errors[0].message


async def test_user_fields_of_another_user(resources, session, two_users):
    a, b = two_users
    pb = Principal.for_user(b.id, frozenset({Role.PREMIUM}))
    q = "query($id: ID!) { node(id: $id) { ... on User { username email videos { totalCount } } } }"
    await make_video(session, a)
    seen = await execute(resources, q, {"id": to_global_id("User", a.id)}, pb)
    assert seen.errors is None
    assert seen.data["node"] == {"username": a.username, "email": None, "videos": {"totalCount": 0}}
    admin = Principal.for_user(b.id, frozenset({Role.ADMIN}))
    as_admin = await execute(resources, q, {"id": to_global_id("User", a.id)}, admin)
    assert as_admin.data["node"]["email"] == a.email and as_admin.data["node"]["videos"]["totalCount"] == 1


async def test_deactivated_user_is_not_found_for_others(resources, session, two_users):
    a, b = two_users
    a.is_active = False
    await session.flush()
    pb = Principal.for_user(b.id, frozenset({Role.PREMIUM}))
    r = await execute(
        resources, "query($id: ID!) { node(id: $id) { id } }", {"id": to_global_id("User", a.id)}, pb
    )
    assert codes(r) == ["NOT_FOUND"]


async def test_api_keys_of_another_user(resources, session, two_users):
    a, b = two_users
    pa = Principal.for_user(a.id, frozenset({Role.CREATOR}))
    pb = Principal.for_user(b.id, frozenset({Role.CREATOR}))
    created = await execute(resources, 'mutation { createApiKey(name: "k") { apiKey { id } } }', None, pa)
    key_id = created.data["createApiKey"]["apiKey"]["id"]
    r = await execute(resources, "mutation($id: ID!) { revokeApiKey(id: $id) }", {"id": key_id}, pb)
    assert codes(r) == ["NOT_FOUND"]
    listed = await execute(resources, "{ apiKeys { id } }", None, pb)
    assert listed.data["apiKeys"] == []
