from persistence.enums import Role
from schema.node import to_global_id
from tests.factories import make_user, make_video, principal_for
from tests.gql import codes, execute


async def test_me_is_null_when_anonymous(resources):
    result = await execute(resources, "{ me { id } }")
    assert result.errors is None and result.data == {"me": None}


async def test_parse_and_validation_errors_have_codes(resources):
    assert codes(await execute(resources, "{ me { id }")) == ["GRAPHQL_PARSE_FAILED"]
    assert codes(await execute(resources, "{ nope }")) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_another_users_video_reads_as_not_found(resources, session):
    alice, bob = await make_user(session), await make_user(session)
    video = await make_video(session, alice)
    await session.commit()
    q = "query($id: ID!) { video(id: $id) { title owner { username email } } }"
    gid = to_global_id("Video", video.id)
    mine = await execute(resources, q, {"id": gid}, principal_for(alice))
    assert mine.errors is None and mine.data["video"]["owner"]["email"] == alice.email
    theirs = await execute(resources, q, {"id": gid}, principal_for(bob))
    assert codes(theirs) == ["NOT_FOUND"]
    via_node = await execute(
        resources, "query($id: ID!) { node(id: $id) { id } }", {"id": gid}, principal_for(bob)
    )
    assert codes(via_node) == ["NOT_FOUND"]


async def test_admin_sees_others_email_and_others_do_not(resources, session):
    alice = await make_user(session)
    admin = await make_user(session, roles=(Role.ADMIN,))
    other = await make_user(session)
    await session.commit()
    q = "query($id: ID!) { node(id: $id) { ... on User { username email } } }"
    gid = to_global_id("User", alice.id)
    assert (await execute(resources, q, {"id": gid}, principal_for(admin, (Role.ADMIN,)))).data["node"][
        "email"
    ] == alice.email
    assert (await execute(resources, q, {"id": gid}, principal_for(other))).data["node"]["email"] is None


async def test_videos_paginate_newest_first(resources, session):
    alice = await make_user(session)
    for i in range(5):
        await make_video(session, alice, title=f"v{i}")
    await session.commit()
    q = (
        "query($after: String) { videos(first: 2, after: $after) { totalCount "
        "edges { cursor node { title } } pageInfo { hasNextPage endCursor } } }"
    )
    seen, after = [], None
    while True:
        r = await execute(resources, q, {"after": after}, principal_for(alice))
        assert r.errors is None, r.errors
        page = r.data["videos"]
        assert page["totalCount"] == 5
        seen += [e["node"]["title"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == [f"v{i}" for i in range(5)] and len(seen) == 5


async def test_bad_cursor_is_bad_user_input(resources, session):
    alice = await make_user(session)
    r = await execute(resources, '{ videos(after: "%%%") { totalCount } }', principal=principal_for(alice))
    assert codes(r) == ["BAD_USER_INPUT"]


async def test_concurrent_fields_share_the_operation_session_safely(resources, session):
    """graphql-core resolves sibling fields concurrently; they all use one session."""
    alice = await make_user(session)
    for i in range(3):
        await make_video(session, alice, title=f"c{i}")
    await session.commit()
    q = """{ me { username videos(first: 5) { totalCount } }
             videos(first: 5) { edges { node { title stages { stage } versions { version }
                                               statistics { views } owner { username roles } } } } }"""
    for _ in range(3):
        r = await execute(resources, q, principal=principal_for(alice))
        assert r.errors is None, r.errors
        assert len(r.data["videos"]["edges"]) == 3 and r.data["me"]["videos"]["totalCount"] == 3
