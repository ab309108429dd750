"""the case timeline's read model: triggers, review steps and partner updates

Revision ID: a1d7e4b9c250
Revises: a1c3e5f70b15
Create Date: 2026-11-29 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a1d7e4b9c250"
down_revision: str | None = "a1c3e5f70b15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "timeline_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("data_class", sa.String(length=30), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("opens_thread", sa.Boolean(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column(
            "complaint_ids",
            sa.ARRAY(sa.Uuid()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("case_reference", sa.String(length=40), nullable=True),
        sa.Column("recorder_agency_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("values", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline_entry")),
    )
    op.create_index(
        op.f("ix_timeline_entry_thread_id"), "timeline_entry", ["thread_id"], unique=False
    )
    op.create_index(
        op.f("ix_timeline_entry_person_id"), "timeline_entry", ["person_id"], unique=False
    )
    op.create_index(
        "ix_timeline_entry_complaint_ids",
        "timeline_entry",
        ["complaint_ids"],
        unique=False,
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index("ix_timeline_entry_complaint_ids", table_name="timeline_entry")
    op.drop_index(op.f("ix_timeline_entry_person_id"), table_name="timeline_entry")
    op.drop_index(op.f("ix_timeline_entry_thread_id"), table_name="timeline_entry")
    op.drop_table("timeline_entry")
