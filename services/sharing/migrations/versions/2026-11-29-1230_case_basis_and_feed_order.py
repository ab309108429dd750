"""the case index keeps each complaint's sharing basis (consent, override purposes, the
perpetrators' landlords) so the events that follow a complaint are decided on it; each
delivery gets a feed position (`seq`) in commit order

Revision ID: 9b4f0c7d2e15
Revises: 4e8a6d0c5b72
Create Date: 2026-11-29 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9b4f0c7d2e15"
down_revision: str | None = "4e8a6d0c5b72"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "case_index",
        sa.Column(
            "consent_to_share",
            sa.String(length=20),
            server_default=sa.text("'not_asked'"),
            nullable=False,
        ),
    )
    op.add_column(
        "case_index",
        sa.Column(
            "override_purposes",
            postgresql.ARRAY(sa.String(length=60)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.add_column(
        "case_index",
        sa.Column(
            "perpetrator_landlord_ids",
            postgresql.ARRAY(sa.Uuid()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    # When the consent above was recorded: a redelivered older change never overwrites a
    # newer one (events are applied in stream order, but a retry comes later).
    op.add_column(
        "case_index",
        sa.Column("basis_recorded_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(op.f("ix_case_index_case_id"), "case_index", ["case_id"])
    # Existing rows are numbered in id order (time-ordered ids); new ones in commit order.
    op.add_column(
        "delivery",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
    )
    op.create_index("ix_delivery_feed", "delivery", ["recipient_agency_id", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_delivery_feed", table_name="delivery")
    op.drop_column("delivery", "seq")
    op.drop_index(op.f("ix_case_index_case_id"), table_name="case_index")
    op.drop_column("case_index", "basis_recorded_at")
    op.drop_column("case_index", "perpetrator_landlord_ids")
    op.drop_column("case_index", "override_purposes")
    op.drop_column("case_index", "consent_to_share")
