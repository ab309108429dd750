"""count what the law counts: calendar dates, behaviours, receipt dates, decisions, escalation

Revision ID: 7c1d2e3f4a5b
Revises: 0e557f0e5243
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7c1d2e3f4a5b"
down_revision: str | None = "0e557f0e5243"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The statutory periods count calendar dates in London; `qualifies` is now decided from
    # them in Python (casebridge.common.periods), never stored.
    op.add_column("indexed_complaint", sa.Column("occurred_on", sa.Date(), nullable=True))
    op.add_column("indexed_complaint", sa.Column("reported_on", sa.Date(), nullable=True))
    op.execute(
        "UPDATE indexed_complaint SET occurred_on = (occurred_at AT TIME ZONE 'Europe/London')"
        "::date, reported_on = (reported_at AT TIME ZONE 'Europe/London')::date"
    )
    op.alter_column("indexed_complaint", "occurred_on", nullable=False)
    op.alter_column("indexed_complaint", "reported_on", nullable=False)
    op.drop_column("indexed_complaint", "qualifies")
    for name, column in (
        ("recorded_at", sa.DateTime(timezone=True)),
        ("backdated_reason", sa.String(length=500)),
        ("backdated_by", sa.String(length=200)),
        ("intake_changed_at", sa.DateTime(timezone=True)),
        ("intake_event_id", sa.Uuid()),
    ):
        op.add_column("indexed_complaint", sa.Column(name, column, nullable=True))

    op.add_column(
        "case_review",
        sa.Column(
            "complaints_listed", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.add_column(
        "case_review",
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
    )  # fmt: skip
    op.execute("UPDATE case_review SET recorded_at = applied_at")
    for name, column in (
        ("behaviour_complaint_id", sa.Uuid()),
        ("behaviour_note", sa.Text()),
        ("escalation_of", sa.String(length=20)),
        ("escalation_requested_at", sa.DateTime(timezone=True)),
        ("escalation_upheld", sa.Boolean()),
        ("escalation_decision", sa.Text()),
        ("backdated_reason", sa.String(length=500)),
        ("backdated_by", sa.String(length=200)),
    ):
        op.add_column("case_review", sa.Column(name, column, nullable=True))

    # An abstention is a vote row with no answer (and its reason).
    op.alter_column("review_vote", "met", nullable=True)

    op.create_table(
        "review_decision",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("decided_by", sa.String(length=20), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("counting", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "votes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["case_review.id"], name=op.f("fk_review_decision_review_id_case_review")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decision")),
    )
    op.create_index(
        op.f("ix_review_decision_review_id"), "review_decision", ["review_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_review_decision_review_id"), table_name="review_decision")
    op.drop_table("review_decision")
    # Abstentions have no answer to go back to: they are removed with the column's new meaning.
    op.execute("DELETE FROM review_vote WHERE met IS NULL")
    op.alter_column("review_vote", "met", nullable=False)
    for name in (
        "backdated_by",
        "backdated_reason",
        "escalation_decision",
        "escalation_upheld",
        "escalation_requested_at",
        "escalation_of",
        "behaviour_note",
        "behaviour_complaint_id",
        "recorded_at",
        "complaints_listed",
    ):
        op.drop_column("case_review", name)
    for name in (
        "intake_event_id",
        "intake_changed_at",
        "backdated_by",
        "backdated_reason",
        "recorded_at",
    ):
        op.drop_column("indexed_complaint", name)
    # The rule as it was before: one month by UTC timestamps.
    op.add_column("indexed_complaint", sa.Column("qualifies", sa.Boolean(), nullable=True))
    op.execute(
        "UPDATE indexed_complaint SET qualifies = (reported_at AT TIME ZONE 'UTC')"
        " <= (occurred_at AT TIME ZONE 'UTC') + interval '1 month'"
    )
    op.alter_column("indexed_complaint", "qualifies", nullable=False)
    op.drop_column("indexed_complaint", "reported_on")
    op.drop_column("indexed_complaint", "occurred_on")
