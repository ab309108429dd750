"""Every event that matters to the partners flows under the protocol, not only a logged
complaint: risk, consent, overrides, incident links, reference numbers, vulnerability,
triggers and case review steps. Each gets one disclosure per other agency of the area, with
the protocol version that decided it, and a delivery on the recipient's own subject only
when something is granted; a field the protocol does not grant is absent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from casebridge.common.contracts.intake import (
    AgencyReference,
    ComplaintReferenceAdded,
    ComplaintUpdated,
    ConsentChanged,
    IncidentLinked,
    PersonVulnerabilityChanged,
    RiskAssessed,
)
from casebridge.common.contracts.review import (
    ReviewTransitioned,
    ThresholdDecided,
    TriggerRaised,
)
from casebridge.common.db import new_id
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.devstack.demo import DEMO_AREA_ID
from casebridge.sharing.models import CaseIndex, Delivery, Disclosure

from .conftest import COUNCIL, HOUSING, POLICE, Sharing, review_applied
from .test_deliveries import log, register
from .test_handlers import META, apply

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
# What a core partner receives of a risk assessment before the victim is asked: the band,
# never the person (consent_or_override) nor the answers.
RISK_CORE = {
    "id", "complaint_id", "config_version", "score", "band", "previous_band", "agency_id",
    "assessed_at",
}  # fmt: skip


def envelope_of(event: Contract, area_id: UUID = DEMO_AREA_ID) -> Envelope:
    """The event as its service's outbox would publish it."""
    return Envelope(
        source=f"casebridge/{event.source}",
        type=event.event_type(),
        subject=event.subject_for(area_id),
        area_id=area_id,
        data=event.model_dump(mode="json"),
    )


async def share(sharing: Sharing, event: Contract) -> Envelope:
    envelope = envelope_of(event)
    assert await apply(sharing, envelope, event)
    return envelope


async def outcomes(sharing: Sharing, envelope: Envelope) -> dict[UUID, tuple[Disclosure, Any]]:
    """Each recipient's disclosure of one event, with its delivery (None when refused)."""
    async with sharing.sessions() as session:
        rows = (
            await session.execute(
                select(Disclosure, Delivery)
                .outerjoin(Delivery, Delivery.disclosure_id == Disclosure.id)
                .where(Disclosure.source_event_id == envelope.id)
            )
        ).all()
    return {d.recipient_agency_id: (d, delivery) for d, delivery in rows}


def assert_delivered(
    found: tuple[Disclosure, Any], fields: set[str], *, event: str, data_class: str
) -> dict[str, Any]:
    disclosure, delivery = found
    assert disclosure.outcome == "delivered"
    assert (disclosure.data_class, disclosure.protocol_version) == (data_class, 1)
    assert set(disclosure.fields) == fields
    assert set(delivery.data) == fields | META
    assert delivery.data["protocol_version"] == 1
    recipient = disclosure.recipient_agency_id
    assert delivery.subject == f"share.{DEMO_AREA_ID}.{recipient}.{event}.v1"
    return dict(delivery.data)


def assert_refused(found: tuple[Disclosure, Any]) -> Disclosure:
    disclosure, delivery = found
    assert (disclosure.outcome, disclosure.fields, delivery) == ("refused", [], None)
    assert disclosure.protocol_version == 1
    return disclosure


def risk(complaint_id: UUID, band: str = "high") -> RiskAssessed:
    return RiskAssessed(
        assessment_id=new_id(),
        complaint_id=complaint_id,
        person_id=new_id(),
        receiving_agency_id=COUNCIL,
        config_version="2026-1",
        score=31,
        band=band,
        previous_band="medium",
        assessed_at=NOW,
    )


async def complaint(sharing: Sharing, **values: Any) -> UUID:
    complaint_id = new_id()
    await log(sharing, complaint_id=complaint_id, **values)
    return complaint_id


async def test_a_high_risk_band_reaches_the_partners_without_the_person(
    protocol_v1: Sharing,
) -> None:
    sharing = protocol_v1
    complaint_id = await complaint(sharing)
    found = await outcomes(sharing, await share(sharing, risk(complaint_id)))
    assert set(found) == {POLICE, HOUSING}  # the council assessed it: no copy of its own
    data = assert_delivered(found[POLICE], RISK_CORE, event="risk.assessed", data_class="risk")
    assert (data["band"], data["complaint_id"]) == ("high", str(complaint_id))
    assert "person_id" not in data
    assert found[POLICE][0].source_reference is not None


async def test_withdrawn_consent_is_decided_on_and_kept_for_later_events(
    protocol_v1: Sharing,
) -> None:
    sharing = protocol_v1
    complaint_id = await complaint(sharing, consent="given")
    changed = ConsentChanged(
        complaint_id=complaint_id,
        receiving_agency_id=COUNCIL,
        consent_to_share="withdrawn",
        previous="given",
        recorded_at=NOW,
    )
    found = await outcomes(sharing, await share(sharing, changed))
    disclosure = assert_refused(found[POLICE])
    assert disclosure.reason == "no rule grants anything (consent withdrawn)"
    assert disclosure.data_class == "complaint"
    # The risk assessed afterwards is decided on the withdrawn consent too.
    later = await outcomes(sharing, await share(sharing, risk(complaint_id)))
    assert_refused(later[POLICE])
    assert_refused(later[HOUSING])


async def test_consent_given_shares_who(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    person = new_id()
    complaint_id = await complaint(sharing, person_id=person)
    changed = ConsentChanged(
        complaint_id=complaint_id,
        person_id=person,
        receiving_agency_id=COUNCIL,
        consent_to_share="given",
        previous="not_asked",
        recorded_at=NOW,
    )
    found = await outcomes(sharing, await share(sharing, changed))
    fields = {"id", "reference", "person_id", "receiving_agency_id", "consent_status",
              "shared_by_override"}  # fmt: skip
    data = assert_delivered(found[POLICE], fields, event="consent.changed", data_class="complaint")
    assert (data["person_id"], data["consent_status"]) == (str(person), "given")
    # consent_recorded_at is not a field the default protocol grants: absent.
    assert "consent_recorded_at" not in data


async def test_an_override_recorded_later_shares_against_refused_consent(
    protocol_v1: Sharing,
) -> None:
    sharing = protocol_v1
    person = new_id()
    complaint_id = await complaint(sharing, consent="refused", person_id=person)
    async with sharing.sessions() as session:
        case = await session.scalar(select(CaseIndex).where(CaseIndex.case_id == complaint_id))
    assert case is not None
    updated = ComplaintUpdated(
        complaint_id=complaint_id,
        reference=case.reference,
        area_id=DEMO_AREA_ID,
        receiving_agency_id=COUNCIL,
        person_id=person,
        changed=["sharing_override"],
        status="open",
        nsir_category="personal",
        asb_type="rowdy_neighbours",
        hate_motivated=False,
        shared_by_override=True,
        updated_at=NOW,
        consent_to_share="refused",
        override_purposes=["asb_case_management"],
    )
    found = await outcomes(sharing, await share(sharing, updated))
    data = assert_delivered(
        found[POLICE],
        {"id", "reference", "area_id", "receiving_agency_id", "person_id", "status",
         "nsir_category", "asb_type", "hate_motivated", "shared_by_override", "updated_at",
         "consent_status"},
        event="complaint.updated",
        data_class="complaint",
    )  # fmt: skip
    assert (data["person_id"], data["consent_status"]) == (str(person), "refused")
    disclosure = found[POLICE][0]
    assert disclosure.reason == "shared under a recorded override for asb_case_management"
    # The override holds for the complaint's later events.
    later = await outcomes(sharing, await share(sharing, risk(complaint_id)))
    assert "person_id" in assert_delivered(
        later[POLICE], RISK_CORE | {"person_id"}, event="risk.assessed", data_class="risk"
    )


async def test_an_incident_link_and_an_agency_reference_flow(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    complaint_id = await complaint(sharing)
    incident = new_id()
    linked = IncidentLinked(
        complaint_id=complaint_id, incident_id=incident, previous_incident_id=new_id(),
        linked_at=NOW,
    )  # fmt: skip
    found = await outcomes(sharing, await share(sharing, linked))
    data = assert_delivered(
        found[HOUSING],
        {"id", "reference", "incident_id", "updated_at"},
        event="incident.linked",
        data_class="complaint",
    )
    assert data["incident_id"] == str(incident)
    async with sharing.sessions() as session:
        case = await session.scalar(select(CaseIndex).where(CaseIndex.case_id == complaint_id))
    assert case is not None
    added = ComplaintReferenceAdded(
        complaint_id=complaint_id,
        reference=case.reference,
        area_id=DEMO_AREA_ID,
        receiving_agency_id=COUNCIL,
        agency_reference=AgencyReference(agency_id=POLICE, reference="CAD-1234"),
        added_at=NOW,
    )
    found = await outcomes(sharing, await share(sharing, added))
    # Agency references go only with consent: the reference of the case, not the police's.
    data = assert_delivered(
        found[HOUSING], {"id", "reference"}, event="complaint.reference_added",
        data_class="complaint",
    )  # fmt: skip
    assert "agency_references" not in data


async def test_an_event_of_an_unknown_complaint_discloses_nothing(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    assert await outcomes(sharing, await share(sharing, risk(new_id()))) == {}


async def test_a_vulnerability_flag_goes_with_consent_only(protocol_v1: Sharing) -> None:
    sharing = protocol_v1
    person = new_id()

    def flagged(consent: str) -> PersonVulnerabilityChanged:
        return PersonVulnerabilityChanged(
            person_id=person, vulnerable=True, previous=False, origin="officer",
            agency_id=COUNCIL, changed_at=NOW, consent_to_share=consent,
        )  # fmt: skip

    refused = await outcomes(sharing, await share(sharing, flagged("not_asked")))
    assert assert_refused(refused[POLICE]).data_class == "person"
    given = await outcomes(sharing, await share(sharing, flagged("given")))
    data = assert_delivered(
        given[POLICE],
        {"id", "vulnerable"},
        event="person.vulnerability_changed",
        data_class="person",
    )
    assert data == data | {"id": str(person), "vulnerable": True}
    assert set(given) == {POLICE, HOUSING}


async def test_a_trigger_reaches_the_agency_that_took_the_counted_complaint(
    protocol_v1: Sharing,
) -> None:
    """The rule `to: [recorder]`: the council took the complaint and must explain the case
    review; the police, neither SPOC nor panel to sharing, gets a refusal on record."""
    sharing = protocol_v1
    complaint_id = await complaint(sharing)
    raised = TriggerRaised(
        trigger_id=new_id(), kind="statutory", person_id=new_id(),
        complaint_ids=[complaint_id], incidents=3, complainants=1, rule="3 in 6 months",
        raised_at=NOW,
    )  # fmt: skip
    found = await outcomes(sharing, await share(sharing, raised))
    assert set(found) == {COUNCIL, POLICE, HOUSING}
    disclosure, delivery = found[COUNCIL]
    assert (disclosure.outcome, disclosure.data_class, disclosure.protocol_version) == (
        "delivered", "trigger", 1,
    )  # fmt: skip
    assert delivery.data["complaint_ids"] == [str(complaint_id)]
    assert delivery.subject == f"share.{DEMO_AREA_ID}.{COUNCIL}.trigger.raised.v1"
    assert_refused(found[POLICE])


async def test_case_review_steps_reach_an_invited_agency_without_the_applicant(
    protocol_v1: Sharing,
) -> None:
    sharing = protocol_v1
    trust = await register(sharing, "Demo Mental Health Trust", "health")
    envelope, applied = review_applied(received_by=COUNCIL)
    assert await apply(sharing, envelope, applied)
    first = await outcomes(sharing, envelope)
    assert set(first) == {POLICE, HOUSING, trust}
    assert_refused(first[trust])  # not invited yet
    invited = await sharing.client.post(
        f"/cases/{applied.reference}/invitations",
        json={"agency_id": str(trust), "reason": "the panel needs the trust"},
        headers=sharing.admin(),
    )
    assert invited.status_code == 201, invited.text
    moved = ReviewTransitioned(
        review_id=applied.review_id, reference=applied.reference, action="accept",
        from_state="applied", to_state="threshold_pending", at=NOW,
    )  # fmt: skip
    found = await outcomes(sharing, await share(sharing, moved))
    data = assert_delivered(
        found[trust], {"id", "reference", "state", "updated_at"},
        event="case_review.transitioned", data_class="review",
    )  # fmt: skip
    assert data["state"] == "threshold_pending"
    assert_refused(found[POLICE])
    decided = ThresholdDecided(
        review_id=applied.review_id, reference=applied.reference, met=True, automatic=True,
        qualifying_incidents=3, decided_at=NOW,
    )  # fmt: skip
    found = await outcomes(sharing, await share(sharing, decided))
    data = assert_delivered(
        found[trust],
        {"id", "reference", "threshold_met", "threshold_automatic", "updated_at"},
        event="case_review.threshold_decided",
        data_class="review",
    )
    assert data["threshold_met"] is True
    assert "person_id" not in data


async def test_an_older_consent_change_arriving_late_does_not_undo_a_withdrawal(
    protocol_v1: Sharing,
) -> None:
    """A retried message can come after a newer one: the newer consent stands."""
    sharing = protocol_v1
    complaint_id = await complaint(sharing, consent="not_asked")

    def changed(status: str, previous: str) -> ConsentChanged:
        return ConsentChanged(
            complaint_id=complaint_id, receiving_agency_id=COUNCIL, consent_to_share=status,
            previous=previous, recorded_at=NOW,
        )  # fmt: skip

    given = envelope_of(changed("given", "not_asked"))  # made first, delivered last
    withdrawn = envelope_of(changed("withdrawn", "given"))
    assert await apply(sharing, withdrawn, changed("withdrawn", "given"))
    assert await apply(sharing, given, changed("given", "not_asked"))
    async with sharing.sessions() as session:
        case = await session.scalar(select(CaseIndex).where(CaseIndex.case_id == complaint_id))
    assert case is not None
    assert case.consent_to_share == "withdrawn"
    later = await outcomes(sharing, await share(sharing, risk(complaint_id)))
    assert_refused(later[POLICE])
