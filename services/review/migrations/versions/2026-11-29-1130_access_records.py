"""access records: who read which record, which fields, when and for what (issue 15,
LEG-R3 consultation); append-only

Revision ID: b2d4f6081c26
Revises: 8d4e2b7c1a90
Create Date: 2026-11-29 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b2d4f6081c26"
down_revision: str | None = "8d4e2b7c1a90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The application inserts and the DPO reads; nobody changes or removes a record.
APPEND_ONLY_SQL = [
    """
    CREATE FUNCTION access_record_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'access_record is append-only' USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER access_record_append_only BEFORE UPDATE OR DELETE ON access_record
    FOR EACH ROW EXECUTE FUNCTION access_record_append_only()
    """,
]


def upgrade() -> None:
    op.create_table(
        "access_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("record_type", sa.String(length=30), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("controller_agency_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("fields", postgresql.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("purpose", sa.String(length=100), nullable=True),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_record")),
    )
    op.create_index("ix_access_record_area_id", "access_record", ["area_id", "id"])
    op.create_index("ix_access_record_record", "access_record", ["record_id", "id"])
    op.create_index(
        "ix_access_record_controllers",
        "access_record",
        ["controller_agency_ids"],
        postgresql_using="gin",
    )
    for statement in APPEND_ONLY_SQL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS access_record_append_only ON access_record")
    op.execute("DROP FUNCTION IF EXISTS access_record_append_only()")
    op.drop_table("access_record")
