"""partner updates: what a partner did about a case

Revision ID: 4e8a6d0c5b72
Revises: 9b4f1c7e2d31
Create Date: 2026-11-29 12:00:00
"""

import os
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4e8a6d0c5b72"
down_revision: str | None = "9b4f1c7e2d31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def app_role() -> str:
    """The role the API and the worker connect as (the service's setting SHARING_APP_ROLE)."""
    role = os.environ.get("SHARING_APP_ROLE", "casebridge_sharing_app")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"SHARING_APP_ROLE {role!r} is not a plain role name")
    return role


def upgrade() -> None:
    op.create_table(
        "partner_update",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_reference", sa.String(length=40), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("next_step", sa.String(length=500), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_client", sa.String(length=100), nullable=False),
        sa.Column("recorded_by_subject", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_partner_update_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_partner_update_area_id_area")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_update")),
    )
    op.create_index("ix_partner_update_case", "partner_update", ["case_reference", "id"])
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON partner_update TO {app_role()}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON partner_update FROM {app_role()}")
    op.drop_index("ix_partner_update_case", table_name="partner_update")
    op.drop_table("partner_update")
