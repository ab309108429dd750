"""the information-sharing protocol's replicas, and what decides a complaint's sharing

Revision ID: 8d4e2b7c1a90
Revises: 7c1d2e3f4a5b
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "8d4e2b7c1a90"
down_revision: str | None = "7c1d2e3f4a5b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
EMPTY = sa.text("'{}'")


def upgrade() -> None:
    op.create_table(
        "partner_agency",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("core_partner", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("revision", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_agency")),
    )
    op.create_index(op.f("ix_partner_agency_area_id"), "partner_agency", ["area_id"])
    op.create_table(
        "protocol_version",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("area_id", "version", name=op.f("pk_protocol_version")),
    )
    op.create_table(
        "case_invitation",
        sa.Column("case_reference", sa.String(length=40), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("invited", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_reference", "agency_id", name=op.f("pk_case_invitation")),
    )
    op.create_table(
        "revoked_client",
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_revoked_client")),
    )
    op.add_column(
        "indexed_complaint",
        sa.Column("consent_status", sa.String(length=12), server_default="not_asked",
                  nullable=False),
    )  # fmt: skip
    op.add_column(
        "indexed_complaint",
        sa.Column("consent_recorded_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "indexed_complaint",
        sa.Column("override_purposes", postgresql.ARRAY(sa.String(length=40)),
                  server_default=EMPTY, nullable=False),
    )  # fmt: skip
    op.add_column(
        "indexed_complaint",
        sa.Column("perpetrator_landlord_ids", postgresql.ARRAY(sa.Uuid()), server_default=EMPTY,
                  nullable=False),
    )  # fmt: skip


def downgrade() -> None:
    for column in (
        "perpetrator_landlord_ids",
        "override_purposes",
        "consent_recorded_at",
        "consent_status",
    ):
        op.drop_column("indexed_complaint", column)
    op.drop_table("revoked_client")
    op.drop_table("case_invitation")
    op.drop_table("protocol_version")
    op.drop_index(op.f("ix_partner_agency_area_id"), table_name="partner_agency")
    op.drop_table("partner_agency")
