"""the event tables, area procedures and the qualifying-complaint index

Revision ID: 6e005415dd2d
Revises:
Create Date: 2026-11-22 02:10:08.673656
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from casebridge.common.events.migration import create_event_tables, drop_event_tables

revision: str = "6e005415dd2d"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_event_tables()
    op.create_table(
        "area_config",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area_config")),
        sa.UniqueConstraint("area_id", "version", name=op.f("uq_area_config_area_id_version")),
    )
    op.create_table(
        "indexed_complaint",
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("receiving_agency_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("nsir_category", sa.String(length=20), nullable=False),
        sa.Column("asb_type", sa.String(length=60), nullable=False),
        sa.Column("place_key", sa.String(length=10), nullable=True),
        sa.Column(
            "perpetrator_keys",
            postgresql.ARRAY(sa.String(length=120)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("hate_motivated", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("qualifies", sa.Boolean(), nullable=False),
        sa.Column(
            "indexed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_indexed_complaint")),
    )
    op.create_index(
        "ix_indexed_complaint_person_reported",
        "indexed_complaint",
        ["person_id", "reported_at"],
        unique=False,
        postgresql_where=sa.text("person_id IS NOT NULL"),
    )
    op.create_index(
        "ix_indexed_complaint_problem",
        "indexed_complaint",
        ["area_id", "asb_type", "place_key", "reported_at"],
        unique=False,
        postgresql_where=sa.text("place_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_indexed_complaint_problem",
        table_name="indexed_complaint",
        postgresql_where=sa.text("place_key IS NOT NULL"),
    )
    op.drop_index(
        "ix_indexed_complaint_person_reported",
        table_name="indexed_complaint",
        postgresql_where=sa.text("person_id IS NOT NULL"),
    )
    op.drop_table("indexed_complaint")
    op.drop_table("area_config")
    drop_event_tables()
