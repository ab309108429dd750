"""Risk assessments and the question set they answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field

from casebridge.common.schemas import ReadSchema, Schema

AnswerKey = Annotated[str, Field(min_length=1, max_length=60)]
AnswerValue = Annotated[str, Field(min_length=1, max_length=60)]


class RiskAssessmentCreate(Schema):
    """One answer (an option id) per question of the area's current question set."""

    answers: Annotated[dict[AnswerKey, AnswerValue], Field(max_length=100)]


class RiskAssessmentRead(ReadSchema):
    id: UUID
    complaint_id: UUID
    person_id: UUID | None
    config_version: str
    answers: dict[str, str]
    score: int
    band: str
    agency_id: UUID
    assessed_at: datetime


class QuestionRead(ReadSchema):
    id: str
    text: str
    options: dict[str, int]


class RiskQuestionSetRead(ReadSchema):
    version: str
    bands: dict[str, int]
    questions: list[QuestionRead]
