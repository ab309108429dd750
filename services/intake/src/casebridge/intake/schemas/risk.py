"""Risk assessments and the question set they answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field

from casebridge.common.schemas import ReadSchema, Schema, SharedView

AnswerKey = Annotated[str, Field(min_length=1, max_length=60)]
AnswerValue = Annotated[str, Field(min_length=1, max_length=60)]


RiskAnswers = Annotated[dict[AnswerKey, AnswerValue], Field(max_length=100)]


class RiskAssessmentCreate(Schema):
    """One answer (an option id) per question of the area's current question set."""

    answers: RiskAnswers


class RiskAssessmentRead(SharedView):
    """An assessment as the caller may see it (the information-sharing protocol's `risk`)."""

    id: UUID | None = None
    complaint_id: UUID | None = None
    person_id: UUID | None = None
    config_version: str | None = None
    answers: dict[str, str] | None = None
    score: int | None = None
    band: str | None = None
    agency_id: UUID | None = None
    assessed_at: datetime | None = None


class QuestionRead(ReadSchema):
    id: str
    text: str
    options: dict[str, int]


class RiskQuestionSetRead(ReadSchema):
    version: str
    bands: dict[str, int]
    questions: list[QuestionRead]
