"""Every list field costs the same number of SQL statements for 1 item as for 100.

Each list the API serves is queried with everything below it selected (generated from the
schema, so a new nested field is covered the day it is added); the statements are counted on
the engine. A resolver that loads per row (N+1) makes the counts differ."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)
from sqlalchemy import event

from persistence.ai import AIGeneration
from persistence.analytics import VideoStatistics
from persistence.audit import AuditEvent
from persistence.enums import GenerationStatus, GenerationType, PipelineStage, Role, StageStatus, VideoStatus
from persistence.partner import ApiKey
from persistence.publishing import PlatformConnection, Publication
from persistence.video import StageRunRow, VideoVersion
from resolvers.root import schema
from tests.factories import make_user, make_video, principal_for
from tests.gql import execute

MAX_DEPTH = 4


def select_all(
    type_: GraphQLObjectType, depth: int = 0, *, in_connection: bool = False, path: tuple[str, ...] = ()
) -> str:
    """A selection of every field without required arguments, nested to MAX_DEPTH without
    entering a type already on the path (Video → publications → video …); below the top
    connection, nested connections are left out (their own test covers them)."""
    parts = []
    for name, field in type_.fields.items():
        if any(is_non_null_type(arg.type) and arg.default_value is None for arg in field.args.values()):
            continue
        named = get_named_type(field.type)
        if is_leaf_type(named):
            parts.append(name)
        elif isinstance(named, GraphQLObjectType) and depth < MAX_DEPTH and named.name not in path:
            if named.name.endswith("Connection") and in_connection:
                continue
            inner = select_all(
                named, depth + 1, in_connection=in_connection or depth > 0, path=(*path, type_.name)
            )
            if inner:
                parts.append(f"{name} {{ {inner} }}")
    return " ".join(parts)


def _object_type(name: str) -> GraphQLObjectType:
    t = schema._schema.type_map[name]
    assert isinstance(t, GraphQLObjectType), name
    return t


def _field_type(parent: str, name: str) -> GraphQLObjectType:
    t: Any = _object_type(parent).fields[name].type
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        t = t.of_type
    return t


@contextmanager
def counted(engine: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def _statements(resources: Any, engine: Any, query: str, variables: dict, principal: Any) -> list[str]:
    await execute(resources, query, variables, principal)  # warm: per-process caches (voices…)
    with counted(engine) as statements:
        result = await execute(resources, query, variables, principal)
    assert result.errors is None, result.errors
    return statements


async def _seed_videos(session: Any, owner: Any, n: int, connection: PlatformConnection) -> list[Any]:
    videos = []
    now = datetime.now(UTC)
    for i in range(n):
        video = await make_video(
            session,
            owner,
            status=VideoStatus.COMPLETED,
            file_key=f"videos/{i}/v1/video.mp4",
            thumbnail_key=f"videos/{i}/v1/thumb.jpg",
            processing_run=1,
        )
        session.add_all(
            [
                StageRunRow(
                    video_id=video.id, run=1, stage=PipelineStage.SCRIPT, status=StageStatus.COMPLETED
                ),
                VideoVersion(
                    video_id=video.id, version=1, file_key=f"videos/{i}/v1/video.mp4", created_by=owner.id
                ),
                VideoStatistics(
                    video_id=video.id, platform="youtube", views=10, engagement_rate=Decimal("0.1")
                ),
                Publication(
                    video_id=video.id,
                    user_id=owner.id,
                    connection_id=connection.id,
                    platform="youtube",
                    scheduled_at=now,
                ),
                AIGeneration(
                    user_id=owner.id,
                    video_id=video.id,
                    type=GenerationType.TEXT,
                    provider="offline",
                    prompt="p",
                    status=GenerationStatus.COMPLETED,
                    completed_at=now,
                ),
                AuditEvent(
                    actor_id=owner.id, action="test.seeded", target_type="Video", target_id=str(video.id)
                ),
                ApiKey(user_id=owner.id, name=f"k{i}", prefix=uuid.uuid4().hex[:16], key_hash="x" * 64),
            ]
        )
        videos.append(video)
    await session.flush()
    return videos


async def _owner(session: Any) -> tuple[Any, PlatformConnection]:
    owner = await make_user(session, roles=(Role.CREATOR, Role.PREMIUM, Role.ADMIN, Role.SUPER_ADMIN))
    connection = PlatformConnection(
        user_id=owner.id,
        platform="youtube",
        account_id="acct",
        access_token_encrypted=b"x",
        token_expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    session.add(connection)
    await session.flush()
    return owner, connection


PAGED = {
    # root field: (query, node type)
    "videos": (
        "query($n: Int) {{ videos(first: $n) {{ totalCount pageInfo {{ hasNextPage }} "
        "edges {{ cursor node {{ {sel} }} }} }} }}",
        "Video",
    ),
    "aiGenerations": (
        "query($n: Int) {{ aiGenerations(first: $n) {{ edges {{ node {{ {sel} }} }} }} }}",
        "AIGeneration",
    ),
    "auditLog": ("query($n: Int) {{ auditLog(first: $n) {{ {sel} }} }}", "AuditEvent"),
    "users": ("query($n: Int) {{ users(first: $n) {{ {sel} }} }}", "User"),
    "me.videos": (
        "query($n: Int) {{ me {{ videos(first: $n) {{ totalCount edges {{ node {{ {sel} }} }} }} }} }}",
        "Video",
    ),
}


@pytest.mark.parametrize("name", sorted(PAGED))
async def test_a_page_of_100_costs_what_a_page_of_1_costs(name, resources, session, engine):
    owner, connection = await _owner(session)
    await _seed_videos(session, owner, 100, connection)
    if name == "users":  # the page lists accounts: 100 more of them, each with a role
        for _ in range(100):
            await make_user(session)
    template, node_type = PAGED[name]
    query = template.format(sel=select_all(_object_type(node_type), 1, in_connection=True))
    principal = principal_for(owner, (Role.CREATOR, Role.PREMIUM, Role.ADMIN, Role.SUPER_ADMIN))
    one = await _statements(resources, engine, query, {"n": 1}, principal)
    hundred = await _statements(resources, engine, query, {"n": 100}, principal)
    assert len(one) == len(hundred), "\n".join(hundred)


LISTS = {
    "apiKeys": "{{ apiKeys {{ {sel} }} }}",
    "platformConnections": "{{ platformConnections {{ {sel} }} }}",
    "publications": "query($v: ID!) {{ publications(videoId: $v) {{ {sel} }} }}",
    "myQuotas": "{{ myQuotas {{ {sel} }} }}",
    "providerKeys": "{{ providerKeys {{ {sel} }} }}",
}


@pytest.mark.parametrize("name", sorted(LISTS))
async def test_a_list_of_100_costs_what_a_list_of_1_costs(name, resources, session, engine):
    from schema.node import to_global_id

    owner, connection = await _owner(session)
    principal = principal_for(owner, (Role.CREATOR, Role.PREMIUM, Role.ADMIN, Role.SUPER_ADMIN))
    (first,) = await _seed_videos(session, owner, 1, connection)
    node_type = _field_type("Query", name.split(".")[0])
    query = LISTS[name].format(sel=select_all(node_type, 1, in_connection=True))
    variables = {"v": to_global_id("Video", first.id)} if "$v" in query else {}
    one = await _statements(resources, engine, query, variables, principal)
    for _ in range(99):  # 99 more of everything, 99 more publications of the first video
        session.add(
            Publication(video_id=first.id, user_id=owner.id, connection_id=connection.id, platform="youtube")
        )
    await _seed_videos(session, owner, 99, connection)
    hundred = await _statements(resources, engine, query, variables, principal)
    assert len(one) == len(hundred), "\n".join(hundred)


def test_the_generated_selection_reaches_nested_lists():
    """The generator itself: a Video selection includes its lists and its owner's fields."""
    sel = select_all(_object_type("Video"), 1, in_connection=True)
    for field in ("stages {", "versions {", "statistics {", "publications {", "owner {", "username"):
        assert field in sel
