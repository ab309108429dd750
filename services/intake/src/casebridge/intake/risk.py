"""Risk assessment at the call, against the area's versioned question set."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import RiskAssessed
from casebridge.common.db import utcnow
from casebridge.common.events import outbox
from casebridge.common.isp import Decision, Viewer
from casebridge.intake import vulnerability
from casebridge.intake.complaint_reads import get_complaint
from casebridge.intake.config import AreaConfig
from casebridge.intake.models import Complaint, RiskAssessment
from casebridge.intake.risk_scoring import score_answers
from casebridge.intake.visibility import Seen, seen_complaints


async def assess(
    session: AsyncSession,
    *,
    viewer: Viewer,
    complaint_id: UUID,
    answers: dict[str, str],
    config: AreaConfig,
) -> RiskAssessment:
    """Record an assessment (earlier ones stay as history); a high band is announced in
    the same transaction, so partners hear of it as soon as it commits."""
    principal = viewer.principal
    assert principal is not None
    complaint = await get_complaint(
        session, viewer=viewer, complaint_id=complaint_id, details=False
    )
    score = score_answers(config.risk, answers)  # a 422 before anything is read further
    previous = await latest(session, complaint_id=complaint.id)
    assessment = RiskAssessment(
        complaint_id=complaint.id,
        person_id=complaint.person_id,
        config_version=config.version,
        answers=answers,
        score=score,
        band=config.risk.band(score),
        assessed_by=principal.subject,
        agency_id=principal.agency_id,
        assessed_at=utcnow(),
    )
    session.add(assessment)
    await session.flush()
    event = RiskAssessed(
        assessment_id=assessment.id,
        complaint_id=complaint.id,
        person_id=complaint.person_id,
        receiving_agency_id=complaint.receiving_agency_id,
        config_version=assessment.config_version,
        score=score,
        band=assessment.band,
        previous_band=previous.band if previous else None,
        assessed_at=assessment.assessed_at,
    )
    outbox.add(session, event, area_id=complaint.area_id, aggregate_id=complaint.id)
    await vulnerability.from_assessment(
        session,
        person_id=complaint.person_id,
        reasons=config.risk.vulnerability_reasons(answers),
        principal=principal,
        assessment_id=assessment.id,
        complaint_id=complaint.id,
    )
    return assessment


async def latest(session: AsyncSession, *, complaint_id: UUID) -> RiskAssessment | None:
    return await session.scalar(
        select(RiskAssessment)
        .where(RiskAssessment.complaint_id == complaint_id)
        .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc())
        .limit(1)
    )


async def history(
    session: AsyncSession, *, viewer: Viewer, complaint_id: UUID
) -> list[Seen[RiskAssessment]]:
    """Every assessment of a complaint the caller may see, as far as it may see each: its
    own assessments whole, the others as the protocol's `risk` rules say."""
    complaint = await get_complaint(
        session, viewer=viewer, complaint_id=complaint_id, details=False
    )
    (seen,) = await seen_complaints(session, viewer, [complaint])
    rows = await session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.complaint_id == complaint.id)
        .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc())
    )
    decided = [Seen(row, decide_risk(viewer, row, seen)) for row in rows]
    return [assessment for assessment in decided if assessment.decision.visible]


def decide_risk(viewer: Viewer, assessment: RiskAssessment, complaint: Seen[Complaint]) -> Decision:
    """An assessment is its assessor's own record, and the complaint's recorder's; anyone
    else stands to it as to the complaint."""
    if assessment.agency_id == viewer.recipient.agency_id or complaint.decision.whole:
        return Decision("risk", whole=True, protocol_version=viewer.protocol_version)
    return viewer.decide("risk", complaint.relations, complaint.basis)
