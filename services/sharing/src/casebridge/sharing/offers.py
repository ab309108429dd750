"""What each shareable event offers: one record of a catalogue data class, in the
catalogue's field names, with the basis it is decided on.

An event names only what it carries; the complaint's basis (consent, overrides, the
perpetrators' landlords) and reference come from sharing's case index when the event does
not carry them, and an event changing the basis updates the index first. An event about a
case sharing never heard of offers nothing (it is logged, and acked).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import (
    ComplaintLogged,
    ComplaintReferenceAdded,
    ComplaintUpdated,
    ConsentChanged,
    IncidentLinked,
    IncidentUnlinked,
    PersonVulnerabilityChanged,
    RiskAssessed,
)
from casebridge.common.contracts.review import (
    DeadlineMissed,
    EscalationDecided,
    LetterIssued,
    RecommendationsMade,
    ReviewApplied,
    ReviewTransitioned,
    ThresholdDecided,
    TriggerExplained,
    TriggerRaised,
)
from casebridge.common.contracts.sharing import PartnerUpdateRecorded
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.common.isp.catalogue import postcode_district
from casebridge.common.isp.decide import Basis
from casebridge.sharing import cases
from casebridge.sharing.models import CaseIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Offer:
    """What one event offers to share: one record, as the catalogue names its fields."""

    event: str  # the delivered event's name, e.g. complaint.logged
    data_class: str
    area_id: UUID
    values: Mapping[str, Any]  # JSON-ready, only the fields the event carries
    basis: Basis
    controller: UUID | None  # the agency that recorded it: it gets no copy of its own record
    reference: str | None = None
    person_id: UUID | None = None
    landlords: frozenset[UUID] = frozenset()
    # Agencies standing as the record's recorder without being its controller (the agencies
    # that took the complaints a trigger counted).
    recorders: frozenset[UUID] = frozenset()


OfferFor = Callable[[AsyncSession, Envelope, Any], Awaitable[Offer | None]]


def _complaint_offer(
    event: str, case: CaseIndex, values: Mapping[str, Any], basis: Basis | None = None
) -> Offer:
    """An offer about a complaint sharing indexed, on the complaint's basis."""
    return Offer(
        event=event,
        data_class="complaint",
        area_id=case.area_id,
        values={"id": str(case.case_id), "reference": case.reference, **values},
        basis=basis or _basis(case),
        controller=case.recorder_agency_id,
        reference=case.reference,
        person_id=case.person_id,
        landlords=frozenset(case.perpetrator_landlord_ids),
    )


def _basis(case: CaseIndex) -> Basis:
    return Basis(case.consent_to_share, frozenset(case.override_purposes))


def _unknown(envelope: Envelope, case_id: UUID) -> Offer | None:
    """Nothing to decide on: an event about a case sharing never indexed."""
    log.warning("%s %s names case %s sharing never heard of", envelope.type, envelope.id, case_id)
    return None


async def complaint_logged(session: AsyncSession, envelope: Envelope, event: Any) -> Offer:
    assert isinstance(event, ComplaintLogged)
    await cases.index_complaint(session, event=event, at=envelope.time)
    carried = event.model_dump(mode="json")
    values = {
        "id": carried["complaint_id"],
        **{
            name: carried[name]
            for name in (
                "reference", "area_id", "receiving_agency_id", "channel", "status",
                "person_id", "incident_id", "agency_references", "occurred_at",
                "reported_at", "postcode", "nsir_category", "asb_type", "hate_motivated",
                "anonymous", "consent_recorded_at",
            )
        },
        "postcode_district": postcode_district(event.postcode),
        "perpetrators": carried["perpetrator_keys"],
        "consent_status": event.consent_to_share,
        "shared_by_override": bool(event.override_purposes),
    }  # fmt: skip
    return Offer(
        event=ComplaintLogged.name,
        data_class="complaint",
        area_id=event.area_id,
        values=values,
        basis=Basis(event.consent_to_share, frozenset(event.override_purposes)),
        controller=event.receiving_agency_id,
        reference=event.reference,
        person_id=event.person_id,
        landlords=frozenset(event.perpetrator_landlord_ids),
    )


async def complaint_updated(session: AsyncSession, envelope: Envelope, event: Any) -> Offer | None:
    """A correction or a sharing override: partners learn the new state (an override may
    grant them what the victim's consent did not)."""
    assert isinstance(event, ComplaintUpdated)
    case = await cases.record_basis(
        session,
        case_id=event.complaint_id,
        consent=event.consent_to_share,
        overrides=event.override_purposes,
        at=envelope.time,
    )
    if case is None:
        return _unknown(envelope, event.complaint_id)
    carried = event.model_dump(mode="json")
    values = {
        name: carried[name]
        for name in (
            "area_id", "receiving_agency_id", "person_id", "status", "nsir_category",
            "asb_type", "hate_motivated", "shared_by_override", "updated_at",
        )
    }  # fmt: skip
    values["consent_status"] = case.consent_to_share
    return _complaint_offer(ComplaintUpdated.name, case, values)


async def consent_changed(session: AsyncSession, envelope: Envelope, event: Any) -> Offer | None:
    """Decided on the new consent: a withdrawal stops identity from that event on."""
    assert isinstance(event, ConsentChanged)
    case = await cases.record_basis(
        session,
        case_id=event.complaint_id,
        consent=event.consent_to_share,
        overrides=event.override_purposes,
        at=envelope.time,
    )
    if case is None:
        return _unknown(envelope, event.complaint_id)
    values = {
        "person_id": str(event.person_id) if event.person_id else None,
        "receiving_agency_id": str(event.receiving_agency_id),
        "consent_status": event.consent_to_share,
        "consent_recorded_at": event.recorded_at.isoformat(),
        "shared_by_override": bool(case.override_purposes),
    }
    return _complaint_offer(ConsentChanged.name, case, values)


async def incident_linked(session: AsyncSession, envelope: Envelope, event: Any) -> Offer | None:
    """A complaint joined (or left) an incident other complaints describe."""
    assert isinstance(event, IncidentLinked | IncidentUnlinked)
    case = await cases.find_case(session, event.complaint_id)
    if case is None:
        return _unknown(envelope, event.complaint_id)
    at = event.linked_at if isinstance(event, IncidentLinked) else event.unlinked_at
    values = {"incident_id": str(event.incident_id), "updated_at": at.isoformat()}
    return _complaint_offer(event.name, case, values)


async def reference_added(session: AsyncSession, envelope: Envelope, event: Any) -> Offer | None:
    assert isinstance(event, ComplaintReferenceAdded)
    case = await cases.find_case(session, event.complaint_id)
    if case is None:
        return _unknown(envelope, event.complaint_id)
    values = {"agency_references": [event.agency_reference.model_dump(mode="json")]}
    return _complaint_offer(ComplaintReferenceAdded.name, case, values)


async def risk_assessed(session: AsyncSession, envelope: Envelope, event: Any) -> Offer | None:
    """A risk band, decided on its complaint's basis; delivered at once like every event
    (a high band is the reason nothing waits for a batch)."""
    assert isinstance(event, RiskAssessed)
    case = await cases.find_case(session, event.complaint_id)
    if case is None:
        return _unknown(envelope, event.complaint_id)
    carried = event.model_dump(mode="json")
    values = {
        "id": carried["assessment_id"],
        "agency_id": carried["receiving_agency_id"],
        **{
            name: carried[name]
            for name in (
                "complaint_id", "person_id", "config_version", "score", "band",
                "previous_band", "assessed_at",
            )
        },
    }  # fmt: skip
    return Offer(
        event=RiskAssessed.name,
        data_class="risk",
        area_id=case.area_id,
        values=values,
        basis=_basis(case),
        controller=event.receiving_agency_id,
        reference=case.reference,
        person_id=event.person_id,
        landlords=frozenset(case.perpetrator_landlord_ids),
    )


async def vulnerability_changed(session: AsyncSession, envelope: Envelope, event: Any) -> Offer:
    """Whether a log is flagged vulnerable (never why): special category, under the log's
    consent and the protocol's recorded condition."""
    assert isinstance(event, PersonVulnerabilityChanged)
    return Offer(
        event=PersonVulnerabilityChanged.name,
        data_class="person",
        area_id=envelope.area_id,
        values={"id": str(event.person_id), "vulnerable": event.vulnerable},
        basis=Basis(event.consent_to_share, frozenset(event.override_purposes)),
        controller=event.agency_id,
        person_id=event.person_id,
    )


async def trigger_raised(session: AsyncSession, envelope: Envelope, event: Any) -> Offer:
    """The agencies that took the counted complaints stand as its recorders (they must
    explain the case review to the victim); the rest is the protocol's."""
    assert isinstance(event, TriggerRaised)
    recorders = await session.scalars(
        select(CaseIndex.recorder_agency_id).where(CaseIndex.case_id.in_(event.complaint_ids))
    )
    carried = event.model_dump(mode="json")
    values = {
        "id": carried["trigger_id"],
        "kind": event.kind,
        "state": "raised",
        "person_id": carried["person_id"],
        "complaint_ids": carried["complaint_ids"],
        "detail": {k: carried[k] for k in ("rule", "incidents", "complainants")},
        "raised_at": carried["raised_at"],
        "review_id": carried["review_id"],
    }
    return Offer(
        event=TriggerRaised.name,
        data_class="trigger",
        area_id=envelope.area_id,
        values=values,
        basis=Basis(),
        controller=None,
        person_id=event.person_id,
        recorders=frozenset(recorders.all()),
    )


async def trigger_explained(session: AsyncSession, envelope: Envelope, event: Any) -> Offer:
    """An agency explained the case review to the victim: the SPOC and the panel learn the
    trigger is dealt with. The explaining agency recorded it (no copy of its own record);
    sharing does not index a trigger's complaints, so their other agencies are not told."""
    assert isinstance(event, TriggerExplained)
    values = {
        "id": str(event.trigger_id),
        "state": "explained",
        "person_id": str(event.person_id) if event.person_id else None,
        "explained_at": event.explained_at.isoformat(),
        "explained_by_agency_id": str(event.agency_id),
    }
    return Offer(
        event=TriggerExplained.name,
        data_class="trigger",
        area_id=envelope.area_id,
        values=values,
        basis=Basis(),
        controller=event.agency_id,
        person_id=event.person_id,
    )


def _review_values(event: Any) -> dict[str, Any]:
    """The review fields each review step carries, in the catalogue's names."""
    carried = event.model_dump(mode="json")
    match event:
        case ReviewApplied():
            values = {
                "state": "applied",
                **{
                    k: carried[k]
                    for k in (
                        "person_id", "applicant_kind", "received_by_agency_id",
                        "complaint_ids", "trigger_id", "applied_at", "recorded_at",
                    )
                },
            }  # fmt: skip
        case ReviewTransitioned():
            values = {"state": event.to_state, "updated_at": carried["at"]}
        case ThresholdDecided():
            values = {
                "threshold_met": event.met,
                "threshold_automatic": event.automatic,
                "updated_at": carried["decided_at"],
            }
        case EscalationDecided():
            values = {
                "escalation_upheld": event.upheld,
                "escalation_requested_at": carried["requested_at"],
                "updated_at": carried["decided_at"],
            }
        case RecommendationsMade():
            # What a partner acts on: who leads, how many, each action's agency and due
            # date; the recommendations' and actions' text stays in review.
            values = {
                "lead_agency_id": carried["lead_agency_id"],
                "recommendation_count": event.recommendations,
                "actions": carried["actions"],
                "victim_consulted": event.victim_consulted,
                "action_plan_agreed_at": carried["agreed_at"],
            }
        case LetterIssued():
            # That a letter went to the applicant, never what it says.
            values = {
                "letter_id": carried["letter_id"],
                "letter_kind": event.kind,
                "letter_issued_at": carried["issued_at"],
            }
        case DeadlineMissed():
            deadline = {k: carried[k] for k in ("deadline_id", "stage", "due_on", "rule")}
            values = {
                "deadlines": [{**deadline, "missed": True}],
                "updated_at": carried["raised_at"],
            }
    return {"id": carried["review_id"], "reference": event.reference, **values}


async def review_step(session: AsyncSession, envelope: Envelope, event: Any) -> Offer | None:
    """A step of an ASB Case Review, for the agencies the protocol names for reviews."""
    if isinstance(event, ReviewApplied):
        await cases.index_review(session, envelope=envelope, event=event)
    case = await cases.find_case(session, event.review_id)
    if case is None:
        return _unknown(envelope, event.review_id)
    return Offer(
        event=event.name,
        data_class="review",
        area_id=case.area_id,
        values=_review_values(event),
        basis=Basis(),
        controller=case.recorder_agency_id,
        reference=case.reference,
        person_id=case.person_id,
    )


async def partner_update_recorded(session: AsyncSession, envelope: Envelope, event: Any) -> Offer:
    """What a partner did about a case, to the others on the case (its own agency excepted)."""
    assert isinstance(event, PartnerUpdateRecorded)
    carried = event.model_dump(mode="json")
    names = ("case_reference", "agency_id", "action", "note", "outcome", "next_step", "due_on",
             "recorded_at")  # fmt: skip
    return Offer(
        event=PartnerUpdateRecorded.name,
        data_class="partner_update",
        area_id=event.area_id,
        values={"id": carried["update_id"], **{name: carried[name] for name in names}},
        basis=Basis(),
        controller=event.agency_id,
        reference=event.case_reference,
        person_id=event.person_id,
    )


OFFERS: dict[type[Contract], OfferFor] = {
    ComplaintLogged: complaint_logged,
    ComplaintUpdated: complaint_updated,
    ConsentChanged: consent_changed,
    IncidentLinked: incident_linked,
    IncidentUnlinked: incident_linked,
    ComplaintReferenceAdded: reference_added,
    RiskAssessed: risk_assessed,
    PersonVulnerabilityChanged: vulnerability_changed,
    TriggerRaised: trigger_raised,
    TriggerExplained: trigger_explained,
    ReviewApplied: review_step,
    ReviewTransitioned: review_step,
    ThresholdDecided: review_step,
    RecommendationsMade: review_step,
    EscalationDecided: review_step,
    DeadlineMissed: review_step,
    LetterIssued: review_step,
    PartnerUpdateRecorded: partner_update_recorded,
}
