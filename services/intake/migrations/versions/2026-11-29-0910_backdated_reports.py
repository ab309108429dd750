"""back-dated reports: who back-dated a complaint's report date, and why

Revision ID: 5b6c7d8e9f01
Revises: db8a04bfe429
Create Date: 2026-11-29 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b6c7d8e9f01"
down_revision: str | None = "db8a04bfe429"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # created_at stays the server's own recording time beside reported_at.
    op.add_column("complaint", sa.Column("backdated_reason", sa.String(length=500), nullable=True))
    op.add_column("complaint", sa.Column("backdated_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("complaint", "backdated_by")
    op.drop_column("complaint", "backdated_reason")
