"""case review facts and analysts counts

The four published Case Review counts are derived from facts per review (daily_count from
review_fact, review_stage, trigger_fact); complaints get a postcode-district count; risk
assessments, repeat-victim marks and partner deliveries get monthly counts; areas are
learnt from events. From this revision complaints count in their month in Europe/London
(before, the UTC month): run `casebridge-stats rebuild` after upgrading to recount
everything the streams still hold.

Revision ID: 29897df418ad
Revises: 9803f6a0471a
Create Date: 2026-11-29 07:57:34.185873
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "29897df418ad"
down_revision: str | None = "9803f6a0471a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "area",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=6), nullable=True),
        sa.Column("code_from", sa.String(length=6), nullable=True),
        sa.PrimaryKeyConstraint("area_id", name=op.f("pk_area")),
    )
    op.create_index(op.f("ix_area_code"), "area", ["code"], unique=False)
    op.create_table(
        "complaint_district_count",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("postcode_district", sa.String(length=8), nullable=False),
        sa.Column("complaints", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint(
            "area_id", "month", "postcode_district", name=op.f("pk_complaint_district_count")
        ),
    )
    op.create_table(
        "daily_count",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=30), server_default="", nullable=False),
        sa.Column("value", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("area_id", "day", "measure", "detail", name=op.f("pk_daily_count")),
    )
    op.create_table(
        "partner_count",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("activity", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("events", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint(
            "area_id", "month", "agency_id", "activity", "outcome", name=op.f("pk_partner_count")
        ),
    )
    op.create_table(
        "repeat_victim_count",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("marks", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("area_id", "month", name=op.f("pk_repeat_victim_count")),
    )
    op.create_table(
        "review_fact",
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_on", sa.Date(), nullable=True),
        sa.Column("automatic", sa.Boolean(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_met_on", sa.Date(), nullable=True),
        sa.Column("first_not_met_on", sa.Date(), nullable=True),
        sa.Column("last_decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_met", sa.Boolean(), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("recommended_on", sa.Date(), nullable=True),
        sa.Column("recommendations", sa.SmallInteger(), nullable=True),
        sa.Column("escalated_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_review_fact")),
    )
    op.create_index(
        "ix_review_fact_area_applied", "review_fact", ["area_id", "applied_on"], unique=False
    )
    op.create_table(
        "review_stage",
        sa.Column("review_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("missed_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("review_id", "stage", name=op.f("pk_review_stage")),
    )
    op.create_table(
        "risk_count",
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("band", sa.String(length=20), nullable=False),
        sa.Column("assessments", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint(
            "area_id", "month", "agency_id", "band", name=op.f("pk_risk_count")
        ),
    )
    op.create_table(
        "trigger_fact",
        sa.Column("trigger_id", sa.Uuid(), nullable=False),
        sa.Column("area_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=True),
        sa.Column("raised_on", sa.Date(), nullable=True),
        sa.Column("explained_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("trigger_id", name=op.f("pk_trigger_fact")),
    )


def downgrade() -> None:
    op.drop_table("trigger_fact")
    op.drop_table("risk_count")
    op.drop_table("review_stage")
    op.drop_index("ix_review_fact_area_applied", table_name="review_fact")
    op.drop_table("review_fact")
    op.drop_table("repeat_victim_count")
    op.drop_table("partner_count")
    op.drop_table("daily_count")
    op.drop_table("complaint_district_count")
    op.drop_index(op.f("ix_area_code"), table_name="area")
    op.drop_table("area")
