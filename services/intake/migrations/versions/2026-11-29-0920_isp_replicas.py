"""the information-sharing protocol's replicas, what each agency supplied, overrides by
purpose, the perpetrator's landlord, and the log's consent

Revision ID: 5c1e0f3a9d21
Revises: 5b6c7d8e9f01
Create Date: 2026-11-29 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5c1e0f3a9d21"
down_revision: str | None = "5b6c7d8e9f01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
NO_PURPOSES = sa.text("'{}'")


def _replica_tables() -> None:
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


def upgrade() -> None:
    _replica_tables()
    # Intake's own agency table becomes the registry's replica (same rows, same ids).
    op.execute(
        "INSERT INTO partner_agency (id, area_id, name, kind, core_partner)"
        " SELECT id, area_id, name, kind, core_partner FROM agency"
    )
    op.drop_constraint("fk_open311_client_agency_id_agency", "open311_client", type_="foreignkey")
    op.drop_index(op.f("ix_agency_area_id"), table_name="agency")
    op.drop_table("agency")

    op.add_column("complaint", sa.Column("complainant", postgresql.JSONB(), nullable=True))
    op.add_column(
        "complaint",
        sa.Column(
            "override_purposes",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=NO_PURPOSES,
            nullable=False,
        ),
    )
    # Overrides recorded before purposes existed were for case management.
    op.execute(
        "UPDATE complaint SET override_purposes = '{asb_case_management}'"
        " WHERE share_override_at IS NOT NULL"
    )
    op.add_column(
        "person",
        sa.Column("consent_status", sa.String(length=12), server_default="not_asked",
                  nullable=False),
    )  # fmt: skip
    op.add_column(
        "person", sa.Column("consent_recorded_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "person",
        sa.Column(
            "override_purposes",
            postgresql.ARRAY(sa.String(length=40)),
            server_default=NO_PURPOSES,
            nullable=False,
        ),
    )
    op.execute(
        "UPDATE person AS p SET consent_status = latest.consent_status,"
        " consent_recorded_at = latest.consent_recorded_at"
        " FROM (SELECT DISTINCT ON (person_id) person_id, consent_status, consent_recorded_at"
        "       FROM complaint WHERE person_id IS NOT NULL AND consent_status <> 'not_asked'"
        "       ORDER BY person_id, consent_recorded_at DESC NULLS LAST) AS latest"
        " WHERE p.id = latest.person_id"
    )
    op.execute(
        "UPDATE person AS p SET override_purposes = '{asb_case_management}'"
        " WHERE EXISTS (SELECT 1 FROM complaint AS c"
        "               WHERE c.person_id = p.id AND c.share_override_at IS NOT NULL)"
    )
    op.add_column("perpetrator", sa.Column("landlord_agency_id", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_perpetrator_landlord",
        "perpetrator",
        ["landlord_agency_id", "complaint_id"],
        postgresql_where=sa.text("landlord_agency_id IS NOT NULL"),
    )
    op.create_table(
        "share_override",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("justification", sa.String(length=500), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_share_override_complaint_id_complaint"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_override")),
    )
    op.create_index(op.f("ix_share_override_complaint_id"), "share_override", ["complaint_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_share_override_complaint_id"), table_name="share_override")
    op.drop_table("share_override")
    op.drop_index("ix_perpetrator_landlord", table_name="perpetrator")
    op.drop_column("perpetrator", "landlord_agency_id")
    op.drop_column("person", "override_purposes")
    op.drop_column("person", "consent_recorded_at")
    op.drop_column("person", "consent_status")
    op.drop_column("complaint", "override_purposes")
    op.drop_column("complaint", "complainant")
    op.create_table(
        "agency",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("core_partner", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_agency_area_id_area")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency")),
    )
    op.create_index(op.f("ix_agency_area_id"), "agency", ["area_id"], unique=False)
    op.execute(
        "INSERT INTO agency (id, area_id, name, kind, core_partner)"
        " SELECT id, area_id, name, kind, core_partner FROM partner_agency"
        " WHERE area_id IN (SELECT id FROM area)"
    )
    op.create_foreign_key(
        "fk_open311_client_agency_id_agency", "open311_client", "agency", ["agency_id"], ["id"]
    )
    op.drop_table("revoked_client")
    op.drop_table("case_invitation")
    op.drop_table("protocol_version")
    op.drop_index(op.f("ix_partner_agency_area_id"), table_name="partner_agency")
    op.drop_table("partner_agency")
