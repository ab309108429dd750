"""triggers and case reviews

Revision ID: d2f0f8ae38a6
Revises: 6e005415dd2d
Create Date: 2026-11-22 02:16:15.190531
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d2f0f8ae38a6"
down_revision: str | None = "6e005415dd2d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE review_reference_seq")
    op.create_table(
        "case_review",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("applicant_kind", sa.String(length=20), nullable=False),
        sa.Column("applicant_name", sa.String(length=200), nullable=False),
        sa.Column("applicant_contact", sa.String(length=200), nullable=False),
        sa.Column("relationship", sa.String(length=200), nullable=True),
        sa.Column("consent_recorded", sa.Boolean(), nullable=False),
        sa.Column("received_by_agency_id", sa.Uuid(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("complaint_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("trigger_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("threshold_met", sa.Boolean(), nullable=True),
        sa.Column("threshold_automatic", sa.Boolean(), nullable=True),
        sa.Column("threshold_reasons", sa.Text(), nullable=True),
        sa.Column("meeting_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column(
            "information_supplied",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("lead_agency_id", sa.Uuid(), nullable=True),
        sa.Column(
            "recommendations",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("victim_consulted", sa.Boolean(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("escalation_reason", sa.Text(), nullable=True),
        sa.Column("closure_reason", sa.Text(), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_review")),
        sa.UniqueConstraint("reference", name=op.f("uq_case_review_reference")),
    )
    op.create_index(
        "ix_case_review_area_applied", "case_review", ["area_id", "applied_at", "id"], unique=False
    )
    op.create_table(
        "trigger",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("subject_key", sa.String(length=120), nullable=False),
        sa.Column("episode_key", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("complaint_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("explained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("explained_by", sa.String(length=200), nullable=True),
        sa.Column("explained_by_agency_id", sa.Uuid(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("review_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger")),
        sa.UniqueConstraint(
            "area_id", "kind", "episode_key", name=op.f("uq_trigger_area_id_kind_episode_key")
        ),
    )
    op.create_index(
        "ix_trigger_area_raised", "trigger", ["area_id", "raised_at", "id"], unique=False
    )
    op.create_index(
        "ix_trigger_person",
        "trigger",
        ["person_id", "raised_at"],
        unique=False,
        postgresql_where=sa.text("person_id IS NOT NULL"),
    )
    op.create_index(
        "ix_trigger_subject",
        "trigger",
        ["area_id", "kind", "subject_key", "raised_at"],
        unique=False,
    )
    op.create_table(
        "planned_action",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["case_review.id"], name=op.f("fk_planned_action_review_id_case_review")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_action")),
    )
    op.create_index(
        op.f("ix_planned_action_review_id"), "planned_action", ["review_id"], unique=False
    )
    op.create_table(
        "review_deadline",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("rule", sa.String(length=300), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_raised_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["review_id"], ["case_review.id"], name=op.f("fk_review_deadline_review_id_case_review")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_deadline")),
        sa.UniqueConstraint("review_id", "stage", name=op.f("uq_review_deadline_review_id_stage")),
    )
    op.create_index(
        "ix_review_deadline_open",
        "review_deadline",
        ["due_on"],
        unique=False,
        postgresql_where=sa.text("met_at IS NULL AND overdue_raised_at IS NULL"),
    )
    op.create_table(
        "review_letter",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["case_review.id"], name=op.f("fk_review_letter_review_id_case_review")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_letter")),
    )
    op.create_index(
        op.f("ix_review_letter_review_id"), "review_letter", ["review_id"], unique=False
    )
    op.create_table(
        "review_transition",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_state", sa.String(length=30), nullable=True),
        sa.Column("to_state", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["case_review.id"],
            name=op.f("fk_review_transition_review_id_case_review"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_transition")),
    )
    op.create_index(
        op.f("ix_review_transition_review_id"), "review_transition", ["review_id"], unique=False
    )
    op.create_table(
        "review_vote",
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("voted_by", sa.String(length=200), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["case_review.id"], name=op.f("fk_review_vote_review_id_case_review")
        ),
        sa.PrimaryKeyConstraint("review_id", "agency_id", name=op.f("pk_review_vote")),
    )


def downgrade() -> None:
    op.drop_table("review_vote")
    op.drop_index(op.f("ix_review_transition_review_id"), table_name="review_transition")
    op.drop_table("review_transition")
    op.drop_index(op.f("ix_review_letter_review_id"), table_name="review_letter")
    op.drop_table("review_letter")
    op.drop_index(
        "ix_review_deadline_open",
        table_name="review_deadline",
        postgresql_where=sa.text("met_at IS NULL AND overdue_raised_at IS NULL"),
    )
    op.drop_table("review_deadline")
    op.drop_index(op.f("ix_planned_action_review_id"), table_name="planned_action")
    op.drop_table("planned_action")
    op.drop_index("ix_trigger_subject", table_name="trigger")
    op.drop_index(
        "ix_trigger_person", table_name="trigger", postgresql_where=sa.text("person_id IS NOT NULL")
    )
    op.drop_index("ix_trigger_area_raised", table_name="trigger")
    op.drop_table("trigger")
    op.drop_index("ix_case_review_area_applied", table_name="case_review")
    op.drop_table("case_review")
    op.execute("DROP SEQUENCE review_reference_seq")
