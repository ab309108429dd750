"""the token endpoint's lockout counts failures per (client id, source address)

Revision ID: 7c1e5d2a9f40
Revises: 50a34b72398b
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1e5d2a9f40"
down_revision: str | None = "50a34b72398b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rows are short-lived counters: a lockout in force when the schema changes is
# forgotten (the same as one that has run out), so the table is made anew both ways.


def upgrade() -> None:
    op.drop_table("client_auth_failure")
    op.create_table(
        "client_auth_failure",
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("client_id", "source", name=op.f("pk_client_auth_failure")),
    )


def downgrade() -> None:
    op.drop_table("client_auth_failure")
    op.create_table(
        "client_auth_failure",
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_auth_failure")),
    )
