"""Risk assessment routes."""

from __future__ import annotations

from fastapi import APIRouter, Response

from casebridge.common.db import DbSession
from casebridge.common.isp import Decision
from casebridge.intake import risk
from casebridge.intake.idempotency import Idempotent
from casebridge.intake.presenters import assessment_read
from casebridge.intake.schemas.risk import (
    QuestionRead,
    RiskAssessmentCreate,
    RiskAssessmentRead,
    RiskQuestionSetRead,
)

from .complaints import ComplaintId
from .deps import (
    AREA_NOT_CONFIGURED,
    Areas,
    CanReadQuestions,
    ReadsComplaints,
    WritesComplaints,
    caller,
    json_response,
)

# The assessor's view of its own assessment: all of it.
OWN_ASSESSMENT = Decision("risk", whole=True)

router = APIRouter(tags=["risk"])


@router.get("/risk/question-set", response_model=RiskQuestionSetRead, responses=AREA_NOT_CONFIGURED)
async def question_set(
    session: DbSession, who: CanReadQuestions, areas: Areas
) -> RiskQuestionSetRead:
    """The caller's area's current question set, weights and bands."""
    config = (await areas.get(session, who.area_id)).config
    return RiskQuestionSetRead(
        version=config.version,
        bands={"standard": 0, **config.risk.bands.model_dump()},
        questions=[QuestionRead.model_validate(q.model_dump()) for q in config.risk.questions],
    )


@router.post(
    "/complaints/{complaint_id}/risk-assessments",
    status_code=201,
    response_model=RiskAssessmentRead,
)
async def assess(
    complaint_id: ComplaintId,
    data: RiskAssessmentCreate,
    session: DbSession,
    who: WritesComplaints,
    areas: Areas,
    idem: Idempotent,
) -> Response:
    """Assess the risk at the call; a high band alerts partners at once (RiskAssessed)."""

    async def produce() -> Response:
        config = (await areas.get(session, who.recipient.area_id)).config
        assessment = await risk.assess(
            session, viewer=who, complaint_id=complaint_id, answers=data.answers, config=config
        )
        return json_response(assessment_read(assessment, OWN_ASSESSMENT), 201)

    assert who.principal is not None
    return await idem.run(produce, caller=caller(who.principal))


@router.get(
    "/complaints/{complaint_id}/risk-assessments",
    response_model=list[RiskAssessmentRead],
    response_model_exclude_unset=True,
)
async def history(
    complaint_id: ComplaintId, session: DbSession, who: ReadsComplaints
) -> list[RiskAssessmentRead]:
    """Every assessment of the complaint, newest first (re-assessment keeps history), each
    as the caller may see it."""
    rows = await risk.history(session, viewer=who, complaint_id=complaint_id)
    return [assessment_read(r.record, r.decision) for r in rows]
