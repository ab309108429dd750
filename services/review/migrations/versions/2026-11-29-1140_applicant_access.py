"""the applicant's access code (its hash only) and failed tries per reference and source

Revision ID: c3e5a7092d37
Revises: b2d4f6081c26
Create Date: 2026-11-29 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c3e5a7092d37"
down_revision: str | None = "b2d4f6081c26"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "applicant_access",
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("issue", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["case_review.id"],
            name=op.f("fk_applicant_access_review_id_case_review"),
        ),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_applicant_access")),
    )
    op.create_table(
        "applicant_attempt",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_applicant_attempt")),
    )


def downgrade() -> None:
    op.drop_table("applicant_attempt")
    op.drop_table("applicant_access")
