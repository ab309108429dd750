"""partner registry, client credentials, disclosures, deliveries and the event tables

Revision ID: 50a34b72398b
Revises:
Create Date: 2026-11-22 02:12:58.201981
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "50a34b72398b"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")

# The disclosure log is append-only (LEG-R3): the database refuses to change or remove a row.
APPEND_ONLY_SQL = [
    """
    CREATE FUNCTION disclosure_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'disclosure is append-only' USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER disclosure_append_only BEFORE UPDATE OR DELETE ON disclosure
    FOR EACH ROW EXECUTE FUNCTION disclosure_append_only()
    """,
    """
    CREATE TRIGGER disclosure_no_truncate BEFORE TRUNCATE ON disclosure
    FOR EACH STATEMENT EXECUTE FUNCTION disclosure_append_only()
    """,
]
DROP_APPEND_ONLY_SQL = [
    "DROP TRIGGER IF EXISTS disclosure_no_truncate ON disclosure",
    "DROP TRIGGER IF EXISTS disclosure_append_only ON disclosure",
    "DROP FUNCTION IF EXISTS disclosure_append_only()",
]


def upgrade() -> None:
    _create_event_tables()
    _registry()
    _credentials()
    _disclosures()
    for statement in APPEND_ONLY_SQL:
        op.execute(statement)


def _registry() -> None:
    op.create_table(
        "area",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area")),
        sa.UniqueConstraint("code", name=op.f("uq_area_code")),
    )
    op.create_table(
        "agency",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('council', 'police', 'housing', 'health', 'other')",
            name=op.f("ck_agency_kind"),
        ),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_agency_area_id_area")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency")),
    )
    op.create_index(op.f("ix_agency_area_id"), "agency", ["area_id"])


def _credentials() -> None:
    op.create_table(
        "oauth_client",
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("scopes", sa.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column(
            "grant_types",
            sa.ARRAY(sa.String(length=40)),
            server_default=sa.text("'{client_credentials}'"),
            nullable=False,
        ),
        sa.Column(
            "roles", sa.ARRAY(sa.String(length=40)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_oauth_client_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oauth_client")),
    )
    op.create_index(op.f("ix_oauth_client_agency_id"), "oauth_client", ["agency_id"])
    op.create_table(
        "client_auth_failure",
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_auth_failure")),
    )


def _disclosures() -> None:
    op.create_table(
        "disclosure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source_event_id", sa.Uuid(), nullable=False),
        sa.Column("source_event_type", sa.String(length=120), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_agency_id", sa.Uuid(), nullable=False),
        sa.Column("fields", sa.ARRAY(sa.String(length=60)), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("legal_basis", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('delivered', 'refused')", name=op.f("ck_disclosure_outcome")
        ),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_disclosure_area_id_area")),
        sa.ForeignKeyConstraint(
            ["recipient_agency_id"],
            ["agency.id"],
            name=op.f("fk_disclosure_recipient_agency_id_agency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure")),
        sa.UniqueConstraint(
            "source_event_id",
            "recipient_agency_id",
            name=op.f("uq_disclosure_source_event_id_recipient_agency_id"),
        ),
    )
    op.create_index("ix_disclosure_recipient", "disclosure", ["recipient_agency_id", "id"])
    op.create_table(
        "delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("disclosure_id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_agency_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_delivery_area_id_area")),
        sa.ForeignKeyConstraint(
            ["disclosure_id"], ["disclosure.id"], name=op.f("fk_delivery_disclosure_id_disclosure")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_agency_id"],
            ["agency.id"],
            name=op.f("fk_delivery_recipient_agency_id_agency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
        sa.UniqueConstraint("disclosure_id", name=op.f("uq_delivery_disclosure_id")),
    )
    op.create_index("ix_delivery_recipient", "delivery", ["recipient_agency_id", "id"])


def downgrade() -> None:
    for statement in DROP_APPEND_ONLY_SQL:
        op.execute(statement)
    op.drop_index("ix_delivery_recipient", table_name="delivery")
    op.drop_table("delivery")
    op.drop_index("ix_disclosure_recipient", table_name="disclosure")
    op.drop_table("disclosure")
    op.drop_table("client_auth_failure")
    op.drop_index(op.f("ix_oauth_client_agency_id"), table_name="oauth_client")
    op.drop_table("oauth_client")
    op.drop_index(op.f("ix_agency_area_id"), table_name="agency")
    op.drop_table("agency")
    op.drop_table("area")
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
