"""`node(id)` resolves every Node type for its owner and reads as NOT_FOUND for anyone else."""

from persistence.ai import AIGeneration
from persistence.enums import GenerationStatus, GenerationType, PublicationStatus, Role
from persistence.publishing import PlatformConnection, Publication
from schema.node import to_global_id
from tests.factories import make_user, make_video, principal_for
from tests.gql import codes, execute

Q = "query($id: ID!) { node(id: $id) { __typename id } }"


async def test_node_resolves_each_type_for_its_owner_only(resources, session):
    owner = await make_user(session, roles=(Role.PREMIUM,))
    other = await make_user(session, roles=(Role.PREMIUM,))
    video = await make_video(session, owner)
    connection = PlatformConnection(
        user_id=owner.id, platform="youtube", account_id="acc", access_token_encrypted=b"x"
    )
    session.add(connection)
    await session.flush()
    publication = Publication(
        video_id=video.id,
        user_id=owner.id,
        connection_id=connection.id,
        platform="youtube",
        status=PublicationStatus.SCHEDULED,
    )
    generation = AIGeneration(
        user_id=owner.id,
        video_id=video.id,
        type=GenerationType.TEXT,
        provider="offline",
        prompt="p",
        status=GenerationStatus.COMPLETED,
    )
    session.add_all([publication, generation])
    await session.commit()

    cases = {
        "Video": video.id,
        "User": owner.id,
        "PlatformConnection": connection.id,
        "Publication": publication.id,
        "AIGeneration": generation.id,
    }
    for type_name, raw in cases.items():
        gid = to_global_id(type_name, raw)
        mine = await execute(resources, Q, {"id": gid}, principal_for(owner, (Role.PREMIUM,)))
        assert mine.errors is None, (type_name, mine.errors)
        assert mine.data["node"] == {"__typename": type_name, "id": gid}
        if type_name == "User":
            continue  # profiles are public
        theirs = await execute(resources, Q, {"id": gid}, principal_for(other, (Role.PREMIUM,)))
        assert codes(theirs) == ["NOT_FOUND"], type_name


async def test_unknown_or_malformed_ids_are_not_found(resources, session):
    user = await make_user(session)
    for gid in ("bm9wZQ", "%%%", to_global_id("Nope", user.id)):
        assert codes(await execute(resources, Q, {"id": gid}, principal_for(user))) == ["NOT_FOUND"]
