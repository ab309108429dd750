"""the event tables, area procedures and the qualifying-complaint index

Revision ID: 6e005415dd2d
Revises:
Create Date: 2026-11-22 02:10:08.673656
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6e005415dd2d"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _create_event_tables()
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
    _drop_event_tables()


# The event tables every service has (outbox, inbox, dead letters) and the outbox's NOTIFY
# trigger, written out as they were when this revision was made: history does not change when
# the shared event code does (a change to those tables is a new revision in each service).
NOTIFY_TRIGGER_SQL = [
    """
    CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger AS $$
    BEGIN PERFORM pg_notify('casebridge_outbox', ''); RETURN NULL; END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER outbox_message_notify AFTER INSERT ON outbox_message
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()
    """,
]
DROP_NOTIFY_TRIGGER_SQL = [
    "DROP TRIGGER IF EXISTS outbox_message_notify ON outbox_message",
    "DROP FUNCTION IF EXISTS outbox_notify()",
]


def _create_event_tables() -> None:
    now = sa.text("now()")
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("aggregate_type", sa.String(length=60), nullable=False),
        sa.Column("aggregate_id", sa.String(length=80), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=now, nullable=False
        ),
        sa.Column("acquired_token", sa.Uuid(), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
    )
    op.create_index("ix_outbox_message_due", "outbox_message", ["next_attempt_at", "created_at"])
    op.create_table(
        "processed_message",
        sa.Column("consumer_name", sa.String(length=120), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.PrimaryKeyConstraint("consumer_name", "message_id", name=op.f("pk_processed_message")),
    )
    op.create_table(
        "dead_letter",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("consumer_name", sa.String(length=120), nullable=True),
        sa.Column("message_id", sa.String(length=80), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
    )
    for statement in NOTIFY_TRIGGER_SQL:
        op.execute(statement)


def _drop_event_tables() -> None:
    for statement in DROP_NOTIFY_TRIGGER_SQL:
        op.execute(statement)
    op.drop_table("dead_letter")
    op.drop_table("processed_message")
    op.drop_index("ix_outbox_message_due", table_name="outbox_message")
    op.drop_table("outbox_message")
