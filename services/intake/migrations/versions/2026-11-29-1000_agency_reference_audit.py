"""who added an agency's reference to a complaint, and when (references added later)

Revision ID: 7a2d4c1e9b10
Revises: 5c1e0f3a9d21
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a2d4c1e9b10"
down_revision: str | None = "5c1e0f3a9d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("agency_reference", sa.Column("added_by", sa.String(length=200)))
    op.add_column(
        "agency_reference",
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
    )
    # References given when the complaint was logged: by whoever logged it, then.
    op.execute(
        "UPDATE agency_reference AS r SET added_by = c.recorded_by, added_at = c.created_at"
        " FROM complaint AS c WHERE c.id = r.complaint_id"
    )


def downgrade() -> None:
    op.drop_column("agency_reference", "added_at")
    op.drop_column("agency_reference", "added_by")
