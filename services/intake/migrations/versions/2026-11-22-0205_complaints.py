"""complaints, areas and the event tables

Revision ID: abba462f4f79
Revises:
Create Date: 2026-11-22 02:05:48.721633
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from casebridge.common.events.migration import create_event_tables, drop_event_tables

revision: str = "abba462f4f79"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_event_tables()
    op.execute("CREATE SEQUENCE complaint_reference_seq")
    op.create_table(
        "area",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area")),
        sa.UniqueConstraint("code", name=op.f("uq_area_code")),
    )
    op.create_table(
        "complaint",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("receiving_agency_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("nsir_category", sa.String(length=20), nullable=False),
        sa.Column("asb_type", sa.String(length=60), nullable=False),
        sa.Column("hate_motivated", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("postcode", sa.String(length=10), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_complaint_area_id_area")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
        sa.UniqueConstraint("reference", name=op.f("uq_complaint_reference")),
    )
    op.create_index(
        "ix_complaint_agency_created", "complaint", ["receiving_agency_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_complaint_agency_created", table_name="complaint")
    op.drop_table("complaint")
    op.drop_table("area")
    op.execute("DROP SEQUENCE complaint_reference_seq")
    drop_event_tables()
