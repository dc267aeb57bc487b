"""Subscription plans: the role a plan grants and its default AI quotas.

The AI-quota feature reads `PLANS[plan].limits[GenerationType][QuotaPeriod]` (0 = not allowed).
A user without an active subscription is on DEFAULT_PLAN."""

from __future__ import annotations

from dataclasses import dataclass, field

from persistence.enums import GenerationType, QuotaPeriod, Role

D, M = QuotaPeriod.DAILY, QuotaPeriod.MONTHLY
T, IMG, A = GenerationType.TEXT, GenerationType.IMAGE, GenerationType.AUDIO


@dataclass(frozen=True)
class Plan:
    name: str
    role: Role
    limits: dict[GenerationType, dict[QuotaPeriod, int]] = field(default_factory=dict)

    def limit(self, kind: GenerationType, period: QuotaPeriod) -> int:
        return self.limits.get(kind, {}).get(period, 0)


PLANS: dict[str, Plan] = {
    "free": Plan("free", Role.CREATOR, {T: {D: 50, M: 500}, IMG: {D: 20, M: 200}, A: {D: 20, M: 200}}),
    "premium": Plan(
        "premium", Role.PREMIUM, {T: {D: 500, M: 10_000}, IMG: {D: 200, M: 4_000}, A: {D: 200, M: 4_000}}
    ),
    "business": Plan(
        "business",
        Role.PREMIUM,
        {T: {D: 2_000, M: 50_000}, IMG: {D: 1_000, M: 20_000}, A: {D: 1_000, M: 20_000}},
    ),
}
DEFAULT_PLAN = "free"


def plan_of(name: str | None) -> Plan:
    return PLANS.get(name or DEFAULT_PLAN, PLANS[DEFAULT_PLAN])
