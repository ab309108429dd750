"""ORM rows to response models: explicit fields only (API3), never the row itself, and only
the fields the caller's information-sharing decision lets through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from casebridge.common import access
from casebridge.common.isp import Decision
from casebridge.common.isp.catalogue import postcode_district
from casebridge.intake.logged import LoggedComplaint
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

LOCATION = ("address", "postcode", "postcode_district", "uprn", "latitude", "longitude")
PERSON_FIELDS = tuple(name for name in PersonRead.model_fields if not name.endswith("_fields"))


def _redacted(decision: Decision, shown: dict[str, Any]) -> None:
    if decision.redacted:
        shown["redacted_fields"] = sorted(decision.redacted)


def complaint_values(complaint: Complaint | LoggedComplaint) -> dict[str, Any]:
    """Every field of a complaint, by the protocol catalogue's names."""
    return {
        "id": complaint.id,
        "reference": complaint.reference,
        "area_id": complaint.area_id,
        "receiving_agency_id": complaint.receiving_agency_id,
        "channel": complaint.channel,
        "status": complaint.status,
        "person_id": complaint.person_id,
        "incident_id": complaint.incident_id,
        "agency_references": [
            AgencyReferenceRead(agency_id=r.agency_id, reference=r.reference, added_at=r.added_at)
            for r in complaint.agency_references
        ],
        "occurred_at": complaint.occurred_at,
        "reported_at": complaint.reported_at,
        "address": complaint.address,
        "postcode": complaint.postcode,
        "postcode_district": postcode_district(complaint.postcode),
        "uprn": complaint.uprn,
        "latitude": complaint.latitude,
        "longitude": complaint.longitude,
        "nsir_category": complaint.nsir_category,
        "asb_type": complaint.asb_type,
        "hate_motivated": complaint.hate_motivated,
        "anonymous": complaint.anonymous,
        "description": complaint.description,
        "complainant": complaint.complainant,
        "perpetrators": [PerpetratorRead.model_validate(p) for p in complaint.perpetrators],
        "witnesses": [WitnessRead.model_validate(w) for w in complaint.witnesses],
        "consent_status": complaint.consent_status,
        "consent_recorded_at": complaint.consent_recorded_at,
        "shared_by_override": complaint.share_override_at is not None,
        "recorded_at": complaint.created_at,
        "backdated": complaint.backdated_reason is not None,
        "backdated_reason": complaint.backdated_reason,
        "backdated_by": complaint.backdated_by,
        "created_at": complaint.created_at,
        "updated_at": complaint.updated_at,
    }


def complaint_read(
    complaint: Complaint | LoggedComplaint,
    decision: Decision,
    match: str | None = None,
    *,
    agency_id: UUID | None = None,
    extras: Mapping[str, Any] | None = None,
) -> ComplaintRead:
    """The fields the decision lets through (with `extras`, fields read beside the row:
    risk_band, vulnerable); and, where it does not show the agencies' references, the ones
    `agency_id` (the caller) added itself: its own data."""
    access.shown("complaint", complaint.id, decision, controllers=[complaint.receiving_agency_id])
    values = complaint_values(complaint) | dict(extras or {})
    shown = decision.project(values)
    if "agency_references" not in shown and agency_id is not None:
        own = [r for r in values["agency_references"] if r.agency_id == agency_id]
        if own:
            shown["agency_references"] = own
    location = {k: shown.pop(k) for k in LOCATION if k in shown}
    if location:
        shown["location"] = LocationRead(**location)
    if "anonymous" in shown:
        shown["usable_for_case_review"] = not shown["anonymous"]
    if match is not None:
        shown["match"] = match
    _redacted(decision, shown)
    return ComplaintRead(**shown)


def flagged(extras: Mapping[Any, Mapping[str, Any]], complaint_id: Any) -> dict[str, Any]:
    """The extras a list row shows: the complainant's vulnerability only."""
    found = extras.get(complaint_id, {})
    return {"vulnerable": found["vulnerable"]} if "vulnerable" in found else {}


def complaint_summary(
    complaint: Complaint, decision: Decision, extras: Mapping[str, Any] | None = None
) -> ComplaintSummary:
    access.shown("complaint", complaint.id, decision, controllers=[complaint.receiving_agency_id])
    values = dict(extras or {}) | {
        "id": complaint.id,
        "reference": complaint.reference,
        "receiving_agency_id": complaint.receiving_agency_id,
        "channel": complaint.channel,
        "status": complaint.status,
        "person_id": complaint.person_id,
        "incident_id": complaint.incident_id,
        "asb_type": complaint.asb_type,
        "nsir_category": complaint.nsir_category,
        "hate_motivated": complaint.hate_motivated,
        "postcode": complaint.postcode,
        "postcode_district": postcode_district(complaint.postcode),
        "occurred_at": complaint.occurred_at,
        "reported_at": complaint.reported_at,
    }
    shown = decision.project(values)
    _redacted(decision, shown)
    return ComplaintSummary(**shown)


def person_values(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "kind": person.kind,
        "name": person.name,
        "date_of_birth": person.date_of_birth,
        "phone": person.phone,
        "email": person.email,
        "address": person.address,
        "postcode": person.postcode,
        "repeat_victim": person.repeat_victim_at is not None,
        "repeat_victim_at": person.repeat_victim_at,
        "vulnerable": person.vulnerable,
        "vulnerability_reasons": list(person.vulnerability_reasons),
        "created_at": person.created_at,
    }


def person_read(person: Person, decision: Decision, supplied: dict[str, Any]) -> PersonRead:
    """The protocol's fields of the log, and where it grants a field no value, the value the
    caller's own agency supplied (its own data, whatever the protocol says)."""
    access.shown("person", person.id, decision)  # its controllers: the agencies on the log
    shown = decision.project(person_values(person))
    own = sorted(k for k in PERSON_FIELDS if k in supplied and shown.get(k) is None)
    for name in own:
        shown[name] = supplied[name]
    if own:
        shown["id"] = person.id  # the caller holds complaints on this log
        shown["supplied_fields"] = own
    withheld = sorted(decision.redacted - set(own))
    if withheld:
        shown["redacted_fields"] = withheld
    return PersonRead(**shown)


def assessment_read(assessment: RiskAssessment, decision: Decision) -> RiskAssessmentRead:
    access.shown("risk_assessment", assessment.id, decision, controllers=[assessment.agency_id])
    values = {
        "id": assessment.id,
        "complaint_id": assessment.complaint_id,
        "person_id": assessment.person_id,
        "config_version": assessment.config_version,
        "answers": assessment.answers,
        "score": assessment.score,
        "band": assessment.band,
        "agency_id": assessment.agency_id,
        "assessed_at": assessment.assessed_at,
    }
    shown = decision.project(values)
    _redacted(decision, shown)
    return RiskAssessmentRead(**shown)
