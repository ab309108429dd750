"""The case timeline: entries in time order, each as far as the caller may see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from casebridge.common.schemas import ReadSchema


class TimelineEntryRead(ReadSchema):
    at: datetime = Field(description="when it happened (a complaint: when it was reported)")
    kind: str = Field(
        description="complaint.logged, risk.assessed, vulnerability.changed, trigger.raised, "
        "trigger.explained, case_review.applied, case_review.transitioned, "
        "case_review.threshold_decided, case_review.recommendations_made, "
        "partner_update.recorded",
        examples=["partner_update.recorded"],
    )
    id: UUID = Field(description="the record's id, or the event's for a review or partner entry")
    data: dict[str, Any] = Field(
        description="the fields the information-sharing protocol grants the caller, by the "
        "protocol catalogue's names"
    )
    redacted_fields: list[str] = Field(description="fields shown as null: withheld")


class TimelineRead(ReadSchema):
    items: list[TimelineEntryRead]
