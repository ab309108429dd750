"""partner registry as the source (revisions, clients revoked, webhooks, NATS users), the
protocol's versions, the case index and invitations, disclosures under the protocol, and the
application role that may not change the append-only tables

Revision ID: 3226b1a66532
Revises: 7c1e5d2a9f40
Create Date: 2026-11-29 08:00:00.000000

The API and the worker connect as the application role (SHARING_APP_ROLE, default
casebridge_sharing_app); this migration runs as the tables' owner. It creates the role
(LOGIN, no password) when it is missing and the migrating user may create roles; otherwise
the role must exist beforehand (deploy/README.md). Roles belong to the whole cluster, so
the downgrade revokes this database's grants and leaves the role.
"""

import os
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3226b1a66532"
down_revision: str | None = "7c1e5d2a9f40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def app_role() -> str:
    """The role the API and the worker connect as (the service's setting SHARING_APP_ROLE)."""
    role = os.environ.get("SHARING_APP_ROLE", "casebridge_sharing_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"SHARING_APP_ROLE {role!r} is not a plain role name")
    return role


OLD_KINDS = "kind IN ('council', 'police', 'housing', 'health', 'other')"
NEW_KINDS = (
    "kind IN ('council', 'police', 'housing', 'health', 'fire', 'social_care', "
    "'youth_justice', 'other')"
)
# What the application role may do, table by table (frozen here: a later table is granted
# by the migration that creates it).
READ_WRITE = (
    "area",
    "agency",
    "oauth_client",
    "client_auth_failure",
    "delivery",
    "webhook_endpoint",
    "nats_user",
    "case_index",
    "outbox_message",
    "processed_message",
    "dead_letter",
)
APPEND_ONLY = ("disclosure", "protocol_version", "invitation_change")

ENSURE_ROLE_SQL = """
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
        IF EXISTS (
            SELECT 1 FROM pg_roles
            WHERE rolname = current_user AND (rolsuper OR rolcreaterole)
        ) THEN
            CREATE ROLE {role} LOGIN;
        ELSE
            RAISE EXCEPTION 'role {role} does not exist and % may not create it: '
                'create it first (see deploy/README.md)', current_user;
        END IF;
    END IF;
EXCEPTION WHEN duplicate_object THEN
    NULL;  -- created meanwhile by another migration of this cluster
END
$$
"""

# Beside the privileges (the guarantee), a trigger refuses changes even by the owner.
APPEND_ONLY_TRIGGER_SQL = [
    """
    CREATE FUNCTION history_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql
    """,
    *(
        sql
        for table in ("protocol_version", "invitation_change")
        for sql in (
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION history_append_only()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION history_append_only()",
        )
    ),
]
DROP_APPEND_ONLY_TRIGGER_SQL = [
    *(
        f"DROP TRIGGER IF EXISTS {table}_{name} ON {table}"
        for table in ("protocol_version", "invitation_change")
        for name in ("append_only", "no_truncate")
    ),
    "DROP FUNCTION IF EXISTS history_append_only()",
]


def upgrade() -> None:
    _registry()
    _endpoints()
    _protocol_and_cases()
    _disclosures()
    for statement in APPEND_ONLY_TRIGGER_SQL:
        op.execute(statement)
    _grant(app_role())


def _registry() -> None:
    op.add_column(
        "area",
        sa.Column("registered_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.drop_constraint(op.f("ck_agency_kind"), "agency", type_="check")
    op.create_check_constraint(op.f("ck_agency_kind"), "agency", NEW_KINDS)
    for column in (
        sa.Column("core_partner", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("ods_code", sa.String(length=20), nullable=True),
        sa.Column("police_force_code", sa.String(length=20), nullable=True),
        sa.Column("revision", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    ):
        op.add_column("agency", column)
    op.add_column(
        "oauth_client", sa.Column("secret_rotated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "oauth_client", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True)
    )


def _endpoints() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column(
            "description", sa.String(length=500), server_default=sa.text("''"), nullable=False
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("signing_secret", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_webhook_endpoint_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    op.create_index(op.f("ix_webhook_endpoint_agency_id"), "webhook_endpoint", ["agency_id"])
    op.create_table(
        "nats_user",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_nats_user_agency_id_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nats_user")),
        sa.UniqueConstraint("username", name=op.f("uq_nats_user_username")),
    )
    op.create_index(op.f("ix_nats_user_agency_id"), "nats_user", ["agency_id"])


def _protocol_and_cases() -> None:
    op.create_table(
        "protocol_version",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_client", sa.String(length=100), nullable=False),
        sa.Column("published_by_subject", sa.String(length=200), nullable=False),
        sa.Column("published_by_agency_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_protocol_version_area_id_area")
        ),
        sa.PrimaryKeyConstraint("area_id", "version", name=op.f("pk_protocol_version")),
    )
    op.create_table(
        "case_index",
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("recorder_agency_id", sa.Uuid(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("kind IN ('complaint', 'review')", name=op.f("ck_case_index_kind")),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_case_index")),
    )
    op.create_index(op.f("ix_case_index_area_id"), "case_index", ["area_id"])
    op.create_table(
        "invitation_change",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_reference", sa.String(length=40), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("invited", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("changed_by_client", sa.String(length=100), nullable=False),
        sa.Column("changed_by_subject", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_invitation_change_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_invitation_change_area_id_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_change")),
    )
    op.create_index(
        "ix_invitation_change_case", "invitation_change", ["case_reference", "agency_id", "id"]
    )


def _disclosures() -> None:
    op.alter_column("disclosure", "purpose", existing_type=sa.String(length=60), nullable=True)
    op.alter_column(
        "disclosure",
        "legal_basis",
        existing_type=sa.String(length=200),
        type_=sa.Text(),
        nullable=True,
    )
    empty = sa.text("'{}'")
    for column in (
        sa.Column("data_class", sa.String(length=30), nullable=True),
        sa.Column("redacted", sa.ARRAY(sa.String(length=60)), server_default=empty, nullable=False),
        sa.Column("purposes", sa.ARRAY(sa.String(length=60)), server_default=empty, nullable=False),
        sa.Column("legal_bases", sa.ARRAY(sa.Text()), server_default=empty, nullable=False),
        sa.Column("protocol_version", sa.Integer(), nullable=True),
        sa.Column("controller_agency_id", sa.Uuid(), nullable=True),
        sa.Column("source_reference", sa.String(length=40), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
    ):
        op.add_column("disclosure", column)
    op.create_index("ix_disclosure_controller", "disclosure", ["controller_agency_id", "id"])
    op.create_index("ix_disclosure_person", "disclosure", ["person_id", "id"])
    op.create_index("ix_disclosure_reference", "disclosure", ["source_reference", "id"])


def _grant(role: str) -> None:
    op.execute(ENSURE_ROLE_SQL.format(role=role))
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(READ_WRITE)} TO {role}")
    op.execute(f"GRANT SELECT, INSERT ON {', '.join(APPEND_ONLY)} TO {role}")


def downgrade() -> None:
    role = app_role()
    op.execute(f"REVOKE ALL ON {', '.join(READ_WRITE + APPEND_ONLY)} FROM {role}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {role}")
    for statement in DROP_APPEND_ONLY_TRIGGER_SQL:
        op.execute(statement)
    _drop_disclosure_columns()
    op.drop_index("ix_invitation_change_case", table_name="invitation_change")
    op.drop_table("invitation_change")
    op.drop_index(op.f("ix_case_index_area_id"), table_name="case_index")
    op.drop_table("case_index")
    op.drop_table("protocol_version")
    op.drop_index(op.f("ix_nats_user_agency_id"), table_name="nats_user")
    op.drop_table("nats_user")
    op.drop_index(op.f("ix_webhook_endpoint_agency_id"), table_name="webhook_endpoint")
    op.drop_table("webhook_endpoint")
    op.drop_column("oauth_client", "revoked_at")
    op.drop_column("oauth_client", "secret_rotated_at")
    for name in ("updated_at", "revision", "police_force_code", "ods_code", "core_partner"):
        op.drop_column("agency", name)
    op.drop_constraint(op.f("ck_agency_kind"), "agency", type_="check")
    op.execute(f"UPDATE agency SET kind = 'other' WHERE NOT ({OLD_KINDS})")  # noqa: S608
    op.create_check_constraint(op.f("ck_agency_kind"), "agency", OLD_KINDS)
    op.drop_column("area", "registered_at")


def _drop_disclosure_columns() -> None:
    for name in ("reference", "person", "controller"):
        op.drop_index(f"ix_disclosure_{name}", table_name="disclosure")
    for name in (
        "person_id",
        "source_reference",
        "controller_agency_id",
        "protocol_version",
        "legal_bases",
        "purposes",
        "redacted",
        "data_class",
    ):
        op.drop_column("disclosure", name)
    # The older schema wants a purpose and a basis on every row: refusals under the
    # protocol have none. The append-only trigger stands aside for this one repair.
    op.execute("ALTER TABLE disclosure DISABLE TRIGGER disclosure_append_only")
    op.execute("UPDATE disclosure SET purpose = coalesce(purpose, 'none')")
    op.execute("UPDATE disclosure SET legal_basis = left(coalesce(legal_basis, 'none'), 200)")
    op.execute("ALTER TABLE disclosure ENABLE TRIGGER disclosure_append_only")
    op.alter_column("disclosure", "purpose", existing_type=sa.String(length=60), nullable=False)
    op.alter_column(
        "disclosure",
        "legal_basis",
        existing_type=sa.Text(),
        type_=sa.String(length=200),
        nullable=False,
    )
