"""Quotas: atomic reservations under real concurrency, period resets, give-backs, QUOTA_EXCEEDED."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from domain.ai.plans import Plan
from domain.ai.quota import QuotaService, period_end
from domain.ai.service import AIService, Caller
from domain.errors import QuotaExceeded
from persistence.ai import AIGeneration, AIQuota
from persistence.enums import GenerationStatus, GenerationType, QuotaPeriod, Role
from providers.ai.base import ScriptRequest
from tests.ai.conftest import StubText, new_user, quota_used, stub_chains
from tests.factories import make_user
from tests.gql import codes, execute

T, D, M = GenerationType.TEXT, QuotaPeriod.DAILY, QuotaPeriod.MONTHLY


def fixed_plan(daily: int, monthly: int = 1000):
    plan = Plan("test", Role.PREMIUM, {T: {D: daily, M: monthly}})

    async def lookup(session, user_id):
        return plan

    return lookup


def test_period_boundaries_are_utc_day_and_calendar_month():
    t = datetime(2031, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert period_end(D, t) == datetime(2032, 1, 1, tzinfo=UTC)
    assert period_end(M, t) == datetime(2032, 1, 1, tzinfo=UTC)
    t = datetime(2031, 2, 10, 0, 0, tzinfo=UTC)
    assert period_end(D, t) == datetime(2031, 2, 11, tzinfo=UTC)
    assert period_end(M, t) == datetime(2031, 3, 1, tzinfo=UTC)


async def test_fifty_concurrent_reservations_never_overspend(e2e_database):
    engine = create_async_engine(e2e_database, pool_size=50, max_overflow=0)
    try:
        maker = async_sessionmaker(engine, expire_on_commit=False)
        async with maker() as s, s.begin():
            user = await make_user(s)
        quotas = QuotaService(maker, plan_for=fixed_plan(daily=10))
        start = asyncio.Event()

        async def one() -> bool:
            await start.wait()
            try:
                await quotas.reserve(user.id, T)
                return True
            except QuotaExceeded:
                return False

        tasks = [asyncio.create_task(one()) for _ in range(50)]
        await asyncio.sleep(0)
        start.set()
        results = await asyncio.gather(*tasks)
        assert results.count(True) == 10
        async with maker() as s:
            rows = {
                r.period: r
                for r in (await s.scalars(select(AIQuota).where(AIQuota.user_id == user.id))).all()
            }
        assert rows[D].used_amount == 10 and rows[D].limit_amount == 10
        assert rows[M].used_amount == 10  # refused calls took nothing from the monthly quota either
    finally:
        await engine.dispose()


async def test_reset_at_the_period_boundary_and_give_back(session, sessionmaker):
    user = await make_user(session)
    await session.commit()
    now = [datetime(2031, 1, 31, 23, 59, tzinfo=UTC)]
    quotas = QuotaService(sessionmaker, clock=lambda: now[0], plan_for=fixed_plan(daily=2, monthly=3))

    first = await quotas.reserve(user.id, T)
    await quotas.reserve(user.id, T)
    with pytest.raises(QuotaExceeded) as refused:
        await quotas.reserve(user.id, T)
    assert refused.value.extensions["period"] == "DAILY" and refused.value.extensions["type"] == "TEXT"
    assert refused.value.extensions["resetAt"] == "2031-02-01T00:00:00+00:00"

    await quotas.release(first)  # a failed call gives its unit back
    await quotas.reserve(user.id, T)
    with pytest.raises(QuotaExceeded) as monthly:  # monthly: 3 used of 3
        now[0] = datetime(2031, 1, 31, 23, 59, 30, tzinfo=UTC)
        await quotas.reserve(user.id, T)
    assert monthly.value.extensions["period"] in ("DAILY", "MONTHLY")

    now[0] = datetime(2031, 2, 1, 0, 0, tzinfo=UTC)  # new day and new month
    again = await quotas.reserve(user.id, T)
    async with sessionmaker() as s:
        rows = {
            r.period: r for r in (await s.scalars(select(AIQuota).where(AIQuota.user_id == user.id))).all()
        }
    assert rows[D].used_amount == 1 and rows[D].reset_at == datetime(2031, 2, 2, tzinfo=UTC)
    assert rows[M].used_amount == 1 and rows[M].reset_at == datetime(2031, 3, 1, tzinfo=UTC)

    await quotas.release(first)  # taken from January: giving it back now must not touch February
    async with sessionmaker() as s:
        rows = {
            r.period: r for r in (await s.scalars(select(AIQuota).where(AIQuota.user_id == user.id))).all()
        }
    assert rows[D].used_amount == 1 and rows[M].used_amount == 1
    await quotas.release(again)
    async with sessionmaker() as s:
        rows = {
            r.period: r for r in (await s.scalars(select(AIQuota).where(AIQuota.user_id == user.id))).all()
        }
    assert rows[D].used_amount == 0 and rows[M].used_amount == 0


async def test_a_failed_external_call_gives_its_unit_back(resources, session):
    user, _ = await new_user(session, Role.PREMIUM)
    stub_chains(resources, text=StubText(fail=True))
    ai = AIService.for_resources(resources)
    result = await ai.write_script(Caller(user.id), ScriptRequest(topic="volcanoes", target_seconds=20))
    assert result.script.scenes  # the offline writer took over
    assert await quota_used(resources, user.id) == {"DAILY": 0, "MONTHLY": 0}
    async with resources.sessionmaker() as s:
        rows = (
            await s.scalars(
                select(AIGeneration)
                .where(AIGeneration.user_id == user.id)
                .order_by(AIGeneration.processing_time_ms.desc())
            )
        ).all()
    assert sorted((r.provider, r.status) for r in rows) == [
        ("offline", GenerationStatus.COMPLETED),
        ("openai", GenerationStatus.FAILED),
    ]
    # and a successful external call keeps it
    stub_chains(resources, text=StubText())
    await AIService.for_resources(resources).write_script(Caller(user.id), ScriptRequest("rivers", 20))
    assert await quota_used(resources, user.id) == {"DAILY": 1, "MONTHLY": 1}


MY_QUOTAS = "{ myQuotas { type period limit used resetAt } }"
GEN = """mutation($input: GenerateScriptInput!) {
  generateScript(input: $input) { title scenes { narration } } }"""


async def test_quota_exceeded_through_the_schema(resources, session):
    user, who = await new_user(session, Role.PREMIUM)
    stub = StubText()
    stub_chains(resources, text=stub)
    tomorrow = period_end(D, datetime.now(UTC))
    session.add(
        AIQuota(
            id=uuid.uuid4(),
            user_id=user.id,
            type=T,
            period=D,
            limit_amount=50,
            used_amount=50,
            reset_at=tomorrow,
        )
    )
    await session.commit()

    r = await execute(resources, GEN, {"input": {"topic": "tides", "targetDurationSeconds": 20}}, who)
    assert codes(r) == ["QUOTA_EXCEEDED"], r.errors
    ext = r.errors[0].extensions
    assert ext["type"] == "TEXT" and ext["period"] == "DAILY"
    assert datetime.fromisoformat(ext["resetAt"]) == tomorrow
    assert stub.calls == 0

    # the free offline writer is still there when asked for
    r = await execute(
        resources, GEN, {"input": {"topic": "tides", "targetDurationSeconds": 20, "offline": True}}, who
    )
    assert r.errors is None and r.data["generateScript"]["scenes"]
    assert stub.calls == 0

    r = await execute(resources, MY_QUOTAS, principal=who)
    assert r.errors is None, r.errors
    got = {(q["type"], q["period"]): q for q in r.data["myQuotas"]}
    assert len(got) == 6  # every type x period, created lazily or not
    assert got[("TEXT", "DAILY")]["used"] == 50 and got[("TEXT", "DAILY")]["limit"] == 50
    assert got[("IMAGE", "MONTHLY")] == {
        "type": "IMAGE",
        "period": "MONTHLY",
        "limit": 200,
        "used": 0,
        "resetAt": period_end(M, datetime.now(UTC)).isoformat(),
    }


async def test_pipeline_calls_out_of_quota_fall_back_to_offline(resources, session):
    user, _ = await new_user(session, Role.PREMIUM)
    stub = StubText()
    stub_chains(resources, text=stub)
    ai = AIService(
        resources.sessionmaker,
        resources.ai_chains,
        quotas=QuotaService(resources.sessionmaker, plan_for=fixed_plan(daily=1)),
    )
    await ai.write_script(Caller(user.id), ScriptRequest("a", 20))
    second = await ai.write_script(Caller(user.id), ScriptRequest("b", 20))
    assert stub.calls == 1 and second.script.scenes  # the second came from the offline writer
    async with resources.sessionmaker() as s:
        providers = sorted(
            await s.scalars(select(AIGeneration.provider).where(AIGeneration.user_id == user.id))
        )
    assert providers == ["offline", "openai"]


async def test_creators_use_offline_providers_without_quota(resources, session):
    user, who = await new_user(session, Role.CREATOR)
    stub = StubText()
    stub_chains(resources, text=stub)
    r = await execute(resources, GEN, {"input": {"topic": "clouds", "targetDurationSeconds": 20}}, who)
    assert r.errors is None, r.errors
    assert stub.calls == 0
    assert await quota_used(resources, user.id) == {}
