"""monthly counts beside the daily

Periods made of whole months (financial and calendar years, quarters, months) are summed
from monthly_count, kept beside daily_count and changed with it; filled here from the daily
counts so nothing needs rebuilding.

Revision ID: 44ed5f566e93
Revises: 29897df418ad
Create Date: 2026-11-29 09:36:27.349814
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "44ed5f566e93"
down_revision: str | None = "29897df418ad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monthly_count",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=30), server_default="", nullable=False),
        sa.Column("value", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint(
            "area_id", "month", "measure", "detail", name=op.f("pk_monthly_count")
        ),
    )
    op.execute(
        "INSERT INTO monthly_count (area_id, month, measure, detail, value) "
        "SELECT area_id, date_trunc('month', day)::date, measure, detail, sum(value) "
        "FROM daily_count GROUP BY 1, 2, 3, 4"
    )


def downgrade() -> None:
    op.drop_table("monthly_count")
