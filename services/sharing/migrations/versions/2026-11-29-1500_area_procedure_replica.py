"""the area's case review procedure as review announces it (the SPOC's and the panel's
agency ids), so deliveries of review data reach the SPOC and the panel under the protocol

Revision ID: 6d2c8e4a1f37
Revises: 9b4f0c7d2e15
Create Date: 2026-11-29 15:00:00
"""

import os
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6d2c8e4a1f37"
down_revision: str | None = "9b4f0c7d2e15"
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
        "area_procedure",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spoc_agency_id", sa.Uuid(), nullable=True),
        sa.Column(
            "panel_agency_ids",
            postgresql.ARRAY(sa.Uuid()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("area_id", name=op.f("pk_area_procedure")),
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON area_procedure TO {app_role()}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON area_procedure FROM {app_role()}")
    op.drop_table("area_procedure")
