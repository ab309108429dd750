"""ORM rows to response models: explicit fields only (API3), never the row itself."""

from __future__ import annotations

from casebridge.intake.complaints import LoggedComplaint
from casebridge.intake.models import Complaint, Person, RiskAssessment
from casebridge.intake.schemas.complaints import (
    AgencyReferenceRead,
    ComplaintRead,
    ComplaintSummary,
    LocationRead,
    PerpetratorRead,
    WitnessRead,
)
from casebridge.intake.schemas.people import PersonRead
from casebridge.intake.schemas.risk import RiskAssessmentRead


def complaint_read(
    complaint: Complaint | LoggedComplaint, match: str | None = None
) -> ComplaintRead:
    return ComplaintRead(
        id=complaint.id,
        reference=complaint.reference,
        area_id=complaint.area_id,
        receiving_agency_id=complaint.receiving_agency_id,
        channel=complaint.channel,
        status=complaint.status,
        person_id=complaint.person_id,
        incident_id=complaint.incident_id,
        match=match,
        agency_references=[
            AgencyReferenceRead(agency_id=r.agency_id, reference=r.reference)
            for r in complaint.agency_references
        ],
        occurred_at=complaint.occurred_at,
        reported_at=complaint.reported_at,
        location=LocationRead(
            address=complaint.address,
            postcode=complaint.postcode,
            uprn=complaint.uprn,
            latitude=complaint.latitude,
            longitude=complaint.longitude,
        ),
        nsir_category=complaint.nsir_category,
        asb_type=complaint.asb_type,
        hate_motivated=complaint.hate_motivated,
        anonymous=complaint.anonymous,
        usable_for_case_review=not complaint.anonymous,
        description=complaint.description,
        perpetrators=[PerpetratorRead.model_validate(p) for p in complaint.perpetrators],
        witnesses=[WitnessRead.model_validate(w) for w in complaint.witnesses],
        consent_status=complaint.consent_status,
        consent_recorded_at=complaint.consent_recorded_at,
        shared_by_override=complaint.share_override_at is not None,
        recorded_at=complaint.created_at,
        backdated=complaint.backdated_reason is not None,
        backdated_reason=complaint.backdated_reason,
        backdated_by=complaint.backdated_by,
        created_at=complaint.created_at,
        updated_at=complaint.updated_at,
    )


def complaint_summary(complaint: Complaint) -> ComplaintSummary:
    return ComplaintSummary.model_validate(complaint)


def person_read(person: Person) -> PersonRead:
    return PersonRead(
        id=person.id,
        kind=person.kind,
        name=person.name,
        date_of_birth=person.date_of_birth,
        phone=person.phone,
        email=person.email,
        address=person.address,
        postcode=person.postcode,
        repeat_victim=person.repeat_victim_at is not None,
        repeat_victim_at=person.repeat_victim_at,
        created_at=person.created_at,
    )


def assessment_read(assessment: RiskAssessment) -> RiskAssessmentRead:
    return RiskAssessmentRead.model_validate(assessment)
