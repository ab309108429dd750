"""index a subject's triggers by subject, for the read made with every new complaint

Revision ID: 0e557f0e5243
Revises: d2f0f8ae38a6
Create Date: 2026-11-22 03:20:53.018973
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0e557f0e5243"
down_revision: str | None = "d2f0f8ae38a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The old index led with kind, so the per-complaint read (several kinds, two subjects)
    # could only use its area column and read every trigger of the area.
    op.drop_index("ix_trigger_subject", table_name="trigger")
    op.create_index("ix_trigger_area_subject", "trigger", ["area_id", "subject_key", "kind"])


def downgrade() -> None:
    op.drop_index("ix_trigger_area_subject", table_name="trigger")
    op.create_index(
        "ix_trigger_subject", "trigger", ["area_id", "kind", "subject_key", "raised_at"]
    )
