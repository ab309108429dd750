"""Risk assessments and the question set they answer."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field

from casebridge.common.schemas import ReadSchema, Schema, SharedView

AnswerKey = Annotated[str, Field(min_length=1, max_length=60)]
AnswerValue = Annotated[str, Field(min_length=1, max_length=60)]


@cache
def _default_questions() -> dict[str, list[str]]:
    from casebridge.intake.config import DEFAULT_PATH, load

    return {q.id: list(q.options) for q in load(DEFAULT_PATH).risk.questions}


def _every_question(schema: dict[str, Any]) -> None:
    """The schema lists the default question set: every question answered, with one of its
    options. An area with its own set (GET /risk/question-set) answers its own instead."""
    questions = _default_questions()
    answers = schema["properties"]["answers"]
    answers["properties"] = {q: {"type": "string", "enum": o} for q, o in questions.items()}
    answers["required"] = list(questions)
    answers["additionalProperties"] = False
    answers["description"] = (
        "One option id per question of the caller's area's question set (all required). "
        "Shown: the default set; an area with its own set lists it at GET /risk/question-set."
    )


RiskAnswers = Annotated[dict[AnswerKey, AnswerValue], Field(max_length=100)]


class RiskAssessmentCreate(Schema):
    """One answer (an option id) per question of the area's current question set."""

    model_config = Schema.model_config | {"json_schema_extra": _every_question}

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
