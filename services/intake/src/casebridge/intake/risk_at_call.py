"""Risk at the call (Home Office principle 2): answers given with the complaint are scored
against the area's matrix and recorded with it, in the recorder's batch: the assessment,
its RiskAssessed event (a high band alerts partners as the batch commits) and, when the
answers indicate it, the victim's log flagged vulnerable. The caller is told the band and
what the area's procedure does next. Answers given later take `risk.assess` instead."""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

from casebridge.common.auth import Principal
from casebridge.common.contracts.intake import RiskAssessed
from casebridge.common.db import new_id
from casebridge.intake import batch_write, rows, vulnerability
from casebridge.intake.areas import ServedArea
from casebridge.intake.logged import LoggedComplaint
from casebridge.intake.matching import Found
from casebridge.intake.models import RiskAssessment
from casebridge.intake.risk_scoring import score_answers
from casebridge.intake.schemas.complaints import ComplaintCreate


@dataclass(frozen=True)
class Scored:
    """The answers given at the call, scored (checked before anything is written)."""

    answers: dict[str, str]
    score: int
    band: str
    next_step: str
    reasons: list[str]  # what the answers say of the victim's vulnerability


def score(data: ComplaintCreate, area: ServedArea) -> Scored | None:
    """None without answers; a 422 naming each wrong answer (body.risk_answers.<id>)."""
    if data.risk_answers is None:
        return None
    matrix = area.config.risk
    points = score_answers(matrix, data.risk_answers, field="body.risk_answers")
    band = matrix.band(points)
    return Scored(
        data.risk_answers,
        points,
        band,
        matrix.next_steps.for_band(band),
        matrix.vulnerability_reasons(data.risk_answers),
    )


def stage(
    batch: batch_write.Batch,
    complaint: LoggedComplaint,
    area: ServedArea,
    principal: Principal,
    scored: Scored,
    found: Found | None,
) -> LoggedComplaint:
    """Add the assessment, its event and any vulnerability flag to the batch; the logged
    complaint as the caller is told of it (band, next step, the log's vulnerability)."""
    assessment_id = new_id()
    batch.assessment.append(
        rows.row_of(
            RiskAssessment,
            id=assessment_id,
            complaint_id=complaint.id,
            person_id=complaint.person_id,
            config_version=area.config.version,
            answers=scored.answers,
            score=scored.score,
            band=scored.band,
            assessed_by=principal.subject,
            agency_id=principal.agency_id,
            assessed_at=complaint.created_at,
        )
    )
    event = RiskAssessed(
        assessment_id=assessment_id,
        complaint_id=complaint.id,
        person_id=complaint.person_id,
        receiving_agency_id=complaint.receiving_agency_id,
        config_version=area.config.version,
        score=scored.score,
        band=scored.band,
        assessed_at=complaint.created_at,
    )
    batch.outbox.append(batch_write.outbox_row(event, area_id=area.id, aggregate_id=complaint.id))
    vulnerable = complaint.vulnerable
    if found is not None and scored.reasons:
        _flag(batch, complaint, area, principal, scored.reasons, found, assessment_id)
        vulnerable = True
    return replace(
        complaint, risk_band=scored.band, risk_next_step=scored.next_step, vulnerable=vulnerable
    )


def _flag(
    batch: batch_write.Batch,
    complaint: LoggedComplaint,
    area: ServedArea,
    principal: Principal,
    reasons: list[str],
    found: Found,
    assessment_id: UUID,
) -> None:
    """Flag the complainant's log: a new log's row as it is written, a kept log's by the
    batch's update; audited; announced if the log was not vulnerable before."""
    new = batch.new_person(found.id)
    earlier = next((row for row in batch.flagged if row["id"] == found.id), None)
    if new is not None:
        was = bool(new["vulnerable"])
        known = set(new["vulnerability_reasons"])
        new.update(vulnerable=True, vulnerability_reasons=sorted(known | set(reasons)))
    else:
        was = found.vulnerable or earlier is not None
        known = set(found.vulnerability_reasons)
        if earlier is not None:
            known |= set(earlier["vulnerability_reasons"])
            batch.flagged.remove(earlier)
        merged = sorted(known | set(reasons))
        batch.flagged.append({"id": found.id, "vulnerable": True, "vulnerability_reasons": merged})
    if was and set(reasons) <= known:
        return  # nothing new to record
    batch.vulnerability.append(
        vulnerability.audit_row(
            found.id,
            vulnerable=True,
            reasons=reasons,
            origin=vulnerability.FROM_RISK_ANSWERS,
            principal=principal,
            at=complaint.created_at,
            assessment_id=assessment_id,
        )
    )
    if was:
        return
    event = vulnerability.changed_event(
        found.id,
        vulnerable=True,
        origin=vulnerability.FROM_RISK_ANSWERS,
        principal=principal,
        at=complaint.created_at,
        basis=(_log_consent(complaint, found), list(found.overrides)),
        complaint_id=complaint.id,
    )
    batch.outbox.append(batch_write.outbox_row(event, area_id=area.id, aggregate_id=found.id))


def _log_consent(complaint: LoggedComplaint, found: Found) -> str:
    """The log's word on sharing once this complaint is logged (its consent, if recorded)."""
    return found.consent if complaint.consent_status == "not_asked" else complaint.consent_status
