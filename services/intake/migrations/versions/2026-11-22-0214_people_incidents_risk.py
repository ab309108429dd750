"""people, incidents, risk assessments, Open311 apps and idempotency keys

Revision ID: db8a04bfe429
Revises: abba462f4f79
Create Date: 2026-11-22 02:14:38.340895
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "db8a04bfe429"
down_revision: str | None = "abba462f4f79"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_record",
        sa.Column("caller", sa.String(length=250), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "media_type", sa.String(length=60), server_default="application/json", nullable=False
        ),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("caller", "key", name=op.f("pk_idempotency_record")),
    )
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
    op.create_table(
        "incident",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_incident_area_id_area")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_norm", sa.String(length=200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("postcode", sa.String(length=8), nullable=True),
        sa.Column("repeat_victim_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_into_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_person_area_id_area")),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["person.id"], name=op.f("fk_person_merged_into_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    op.create_index(
        "ix_person_match_email",
        "person",
        ["area_id", "email"],
        unique=False,
        postgresql_where=sa.text("merged_into_id IS NULL"),
    )
    op.create_index(
        "ix_person_match_name_dob",
        "person",
        ["area_id", "name_norm", "date_of_birth"],
        unique=False,
        postgresql_where=sa.text("merged_into_id IS NULL"),
    )
    op.create_index(
        "ix_person_match_phone",
        "person",
        ["area_id", "phone"],
        unique=False,
        postgresql_where=sa.text("merged_into_id IS NULL"),
    )
    op.create_index(
        "ix_person_match_postcode",
        "person",
        ["area_id", "postcode"],
        unique=False,
        postgresql_where=sa.text("merged_into_id IS NULL"),
    )
    op.create_table(
        "open311_client",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("api_key_sha256", sa.String(length=64), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_open311_client_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_open311_client_area_id_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_client")),
        sa.UniqueConstraint("api_key_sha256", name=op.f("uq_open311_client_api_key_sha256")),
    )
    op.create_table(
        "person_merge",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("merged_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("complaint_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "merged_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"], ["person.id"], name=op.f("fk_person_merge_merged_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"], ["person.id"], name=op.f("fk_person_merge_survivor_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_merge")),
        sa.UniqueConstraint("merged_id", name=op.f("uq_person_merge_merged_id")),
    )
    op.create_index(
        op.f("ix_person_merge_survivor_id"), "person_merge", ["survivor_id"], unique=False
    )
    op.create_table(
        "agency_reference",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("reference_norm", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_agency_reference_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_reference")),
    )
    op.create_index(
        op.f("ix_agency_reference_complaint_id"), "agency_reference", ["complaint_id"], unique=False
    )
    op.create_index(
        op.f("ix_agency_reference_reference_norm"),
        "agency_reference",
        ["reference_norm"],
        unique=False,
    )
    op.create_table(
        "perpetrator",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("postcode", sa.String(length=8), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("key", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_perpetrator_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_perpetrator")),
    )
    op.create_index(
        op.f("ix_perpetrator_complaint_id"), "perpetrator", ["complaint_id"], unique=False
    )
    op.create_index(op.f("ix_perpetrator_key"), "perpetrator", ["key"], unique=False)
    op.create_table(
        "risk_assessment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("config_version", sa.String(length=60), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(length=10), nullable=False),
        sa.Column("assessed_by", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column(
            "assessed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_risk_assessment_complaint_id_complaint"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_assessment")),
    )
    op.create_index(
        "ix_risk_assessment_complaint",
        "risk_assessment",
        ["complaint_id", "assessed_at"],
        unique=False,
    )
    op.create_table(
        "witness",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("statement", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_witness_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witness")),
    )
    op.create_index(op.f("ix_witness_complaint_id"), "witness", ["complaint_id"], unique=False)
    op.add_column(
        "complaint",
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
    )
    op.add_column("complaint", sa.Column("person_id", sa.Uuid(), nullable=True))
    op.add_column("complaint", sa.Column("incident_id", sa.Uuid(), nullable=True))
    op.add_column("complaint", sa.Column("address", sa.String(length=300), nullable=True))
    op.add_column("complaint", sa.Column("uprn", sa.BigInteger(), nullable=True))
    op.add_column("complaint", sa.Column("latitude", sa.Double(), nullable=True))
    op.add_column("complaint", sa.Column("longitude", sa.Double(), nullable=True))
    op.add_column(
        "complaint",
        sa.Column(
            "consent_status", sa.String(length=12), server_default="not_asked", nullable=False
        ),
    )
    op.add_column(
        "complaint", sa.Column("consent_recorded_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "complaint", sa.Column("share_override_reason", sa.String(length=500), nullable=True)
    )
    op.add_column("complaint", sa.Column("share_override_by", sa.String(length=200), nullable=True))
    op.add_column(
        "complaint", sa.Column("share_override_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("complaint", sa.Column("open311_client_id", sa.Uuid(), nullable=True))
    op.add_column(
        "complaint",
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.alter_column(
        "complaint",
        "postcode",
        existing_type=sa.VARCHAR(length=10),
        type_=sa.String(length=8),
        existing_nullable=True,
    )
    # Complaints logged before incidents existed become one incident each (same id).
    op.execute(
        "INSERT INTO incident (id, area_id, created_at)"
        " SELECT id, area_id, created_at FROM complaint"
    )
    op.execute("UPDATE complaint SET incident_id = id")
    op.alter_column("complaint", "incident_id", existing_type=sa.Uuid(), nullable=False)
    op.create_index(
        "ix_complaint_area_reported", "complaint", ["area_id", "reported_at", "id"], unique=False
    )
    op.create_index(op.f("ix_complaint_incident_id"), "complaint", ["incident_id"], unique=False)
    op.create_index(
        "ix_complaint_person_reported", "complaint", ["person_id", "reported_at"], unique=False
    )
    op.create_index("ix_complaint_postcode", "complaint", ["area_id", "postcode"], unique=False)
    op.create_foreign_key(
        op.f("fk_complaint_person_id_person"), "complaint", "person", ["person_id"], ["id"]
    )
    op.create_foreign_key(
        op.f("fk_complaint_incident_id_incident"), "complaint", "incident", ["incident_id"], ["id"]
    )
    op.create_foreign_key(
        op.f("fk_complaint_open311_client_id_open311_client"),
        "complaint",
        "open311_client",
        ["open311_client_id"],
        ["id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_complaint_open311_client_id_open311_client"), "complaint", type_="foreignkey"
    )
    op.drop_constraint(op.f("fk_complaint_incident_id_incident"), "complaint", type_="foreignkey")
    op.drop_constraint(op.f("fk_complaint_person_id_person"), "complaint", type_="foreignkey")
    op.drop_index("ix_complaint_postcode", table_name="complaint")
    op.drop_index("ix_complaint_person_reported", table_name="complaint")
    op.drop_index(op.f("ix_complaint_incident_id"), table_name="complaint")
    op.drop_index("ix_complaint_area_reported", table_name="complaint")
    op.alter_column(
        "complaint",
        "postcode",
        existing_type=sa.String(length=8),
        type_=sa.VARCHAR(length=10),
        existing_nullable=True,
    )
    op.drop_column("complaint", "updated_at")
    op.drop_column("complaint", "open311_client_id")
    op.drop_column("complaint", "share_override_at")
    op.drop_column("complaint", "share_override_by")
    op.drop_column("complaint", "share_override_reason")
    op.drop_column("complaint", "consent_recorded_at")
    op.drop_column("complaint", "consent_status")
    op.drop_column("complaint", "longitude")
    op.drop_column("complaint", "latitude")
    op.drop_column("complaint", "uprn")
    op.drop_column("complaint", "address")
    op.drop_column("complaint", "incident_id")
    op.drop_column("complaint", "person_id")
    op.drop_column("complaint", "status")
    op.drop_index(op.f("ix_witness_complaint_id"), table_name="witness")
    op.drop_table("witness")
    op.drop_index("ix_risk_assessment_complaint", table_name="risk_assessment")
    op.drop_table("risk_assessment")
    op.drop_index(op.f("ix_perpetrator_key"), table_name="perpetrator")
    op.drop_index(op.f("ix_perpetrator_complaint_id"), table_name="perpetrator")
    op.drop_table("perpetrator")
    op.drop_index(op.f("ix_agency_reference_reference_norm"), table_name="agency_reference")
    op.drop_index(op.f("ix_agency_reference_complaint_id"), table_name="agency_reference")
    op.drop_table("agency_reference")
    op.drop_index(op.f("ix_person_merge_survivor_id"), table_name="person_merge")
    op.drop_table("person_merge")
    op.drop_table("open311_client")
    op.drop_index(
        "ix_person_match_postcode",
        table_name="person",
        postgresql_where=sa.text("merged_into_id IS NULL"),
    )
    op.drop_index(
        "ix_person_match_phone",
        table_name="person",
        postgresql_where=sa.text("merged_into_id IS NULL"),
    )
    op.drop_index(
        "ix_person_match_name_dob",
        table_name="person",
        postgresql_where=sa.text("merged_into_id IS NULL"),
    )
    op.drop_index(
        "ix_person_match_email",
        table_name="person",
        postgresql_where=sa.text("merged_into_id IS NULL"),
    )
    op.drop_table("person")
    op.drop_table("incident")
    op.drop_index(op.f("ix_agency_area_id"), table_name="agency")
    op.drop_table("agency")
    op.drop_table("idempotency_record")
