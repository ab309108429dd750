"""revoked clients

Stats refuses a revoked partner client's tokens, like every other API: it keeps the
registry's revocations (`registry.*.client.revoked.v1`), and nothing else of the registry.

Revision ID: 6a2f4c8e1b57
Revises: 5e0b7a1c9d44
Create Date: 2026-11-29 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6a2f4c8e1b57"
down_revision: str | None = "5e0b7a1c9d44"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revoked_client",
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_revoked_client")),
    )


def downgrade() -> None:
    op.drop_table("revoked_client")
