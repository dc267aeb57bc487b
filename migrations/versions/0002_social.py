"""social and analytics: engagement rate as a precise ratio

video_statistics.engagement_rate was NUMERIC(5,2), which keeps a ratio like 0.0437 as 0.04.
It now holds (likes + comments + shares) / views with six decimals, the same definition
CreatorAnalytics.engagementRate uses.

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("video_statistics", "engagement_rate", type_=sa.Numeric(10, 6),
                    existing_type=sa.Numeric(5, 2), existing_nullable=True)


def downgrade() -> None:
    op.execute("UPDATE video_statistics SET engagement_rate = LEAST(engagement_rate, 999.99)")
    op.alter_column("video_statistics", "engagement_rate", type_=sa.Numeric(5, 2),
                    existing_type=sa.Numeric(10, 6), existing_nullable=True)
