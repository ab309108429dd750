"""Events as the other services publish them, and a way to deliver them through the real
inbox and handlers (a redelivery is the same envelope again)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.contracts.intake import (
    ComplaintLogged,
    PersonVulnerabilityChanged,
    RepeatVictimMarked,
    RiskAssessed,
)
from casebridge.common.contracts.review import (
    ActionSummary,
    DeadlineMissed,
    RecommendationsMade,
    ReviewApplied,
    ReviewTransitioned,
    ThresholdDecided,
    TriggerExplained,
    TriggerRaised,
)
from casebridge.common.contracts.sharing import (
    DisclosureMade,
    DisclosureRecorded,
    DisclosuresRecorded,
    PartnerUpdateRecorded,
)
from casebridge.common.events.connection import NatsLink
from casebridge.common.events.consumer import ConsumerRunner
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.stats.settings import Settings
from casebridge.stats.worker import consumers

COUNCIL, POLICE, HOUSING = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def at(text: str) -> datetime:
    """`2026-03-31T23:30` in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def envelope(event: Contract, area: UUID) -> Envelope:
    return Envelope(
        source=event.source,
        type=event.event_type(),
        subject=event.subject_for(area),
        area_id=area,
        data=event.model_dump(mode="json"),
    )


class Deliverer:
    """Applies envelopes exactly as the worker does: inbox claim + handler, one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.runners = {
            c.stream: ConsumerRunner(c, NatsLink("nats://unused", name="t"), sessions)
            for c in consumers(Settings())
        }

    async def __call__(self, *envelopes: Envelope) -> list[bool]:
        applied = []
        for env in envelopes:
            runner = self.runners[env.source.upper()]
            handler = runner.consumer.handlers[env.type]
            data = type_of(env).model_validate(env.data)
            applied.append(await runner._apply(handler, env, data))
        return applied


def type_of(env: Envelope) -> type[Contract]:
    from casebridge.common.events.envelope import contract_for

    found = contract_for(env.type)
    assert found is not None
    return found


def complaint(area: UUID, **overrides: Any) -> ComplaintLogged:
    values: dict[str, Any] = {
        "complaint_id": uuid.uuid4(),
        "reference": "DMO-2026-000001-7",
        "area_id": area,
        "receiving_agency_id": COUNCIL,
        "person_id": uuid.uuid4(),
        "channel": "phone",
        "nsir_category": "personal",
        "asb_type": "noise",
        "occurred_at": at("2026-10-30T22:00"),
        "reported_at": at("2026-11-02T09:00"),
        "postcode": "SW1A 1AA",
    }
    return ComplaintLogged.model_validate(values | overrides)


class Review:
    """The events of one case review, each at the moment given."""

    def __init__(self, area: UUID) -> None:
        self.area = area
        self.id = uuid.uuid4()
        self.reference = "CR-DMO-2026-000001"

    def _common(self) -> dict[str, Any]:
        return {"review_id": self.id, "reference": self.reference}

    def applied(self, when: str, *, automatic: bool = False) -> Envelope:
        event = ReviewApplied(
            **self._common(),
            person_id=uuid.uuid4(),
            applicant_kind="automatic" if automatic else "victim",
            received_by_agency_id=COUNCIL,
            complaint_ids=[uuid.uuid4()],
            automatic=automatic,
            applied_at=at(when),
        )
        return envelope(event, self.area)

    def moved(self, action: str, source: str, target: str, when: str) -> Envelope:
        event = ReviewTransitioned(
            **self._common(), action=action, from_state=source, to_state=target, at=at(when)
        )
        return envelope(event, self.area)

    def acknowledged(self, when: str) -> Envelope:
        return self.moved("acknowledge", "received", "acknowledged", when)

    def decided(self, when: str, *, met: bool) -> Envelope:
        event = ThresholdDecided(
            **self._common(), met=met, automatic=False, qualifying_incidents=3, decided_at=at(when)
        )
        return envelope(event, self.area)

    def held(self, when: str) -> Envelope:
        return self.moved("hold_meeting", "meeting_scheduled", "meeting_held", when)

    def escalated(self, when: str) -> Envelope:
        return self.moved("escalate", "outcome_communicated", "escalated", when)

    def outcome(self, when: str) -> Envelope:
        return self.moved("communicate_outcome", "action_plan_agreed", "outcome_communicated", when)

    def recommended(self, when: str, *, recommendations: int = 2) -> Envelope:
        event = RecommendationsMade(
            **self._common(),
            lead_agency_id=COUNCIL,
            recommendations=recommendations,
            actions=[ActionSummary(agency_id=POLICE, due_on=at(when).date())],
            victim_consulted=True,
            agreed_at=at(when),
        )
        return envelope(event, self.area)

    def missed(self, stage: str, when: str) -> Envelope:
        event = DeadlineMissed(
            **self._common(),
            deadline_id=uuid.uuid4(),
            stage=stage,
            due_on=at(when).date(),
            rule="2 working days",
            raised_at=at(when),
        )
        return envelope(event, self.area)

    def carried_out(self, applied: str, decided: str, held: str, agreed: str) -> list[Envelope]:
        return [
            self.applied(applied),
            self.acknowledged(applied),
            self.decided(decided, met=True),
            self.held(held),
            self.recommended(agreed),
        ]


def trigger(area: UUID, kind: str, raised: str, explained: str | None = None) -> list[Envelope]:
    trigger_id = uuid.uuid4()
    found = [
        envelope(
            TriggerRaised(
                trigger_id=trigger_id,
                kind=kind,
                person_id=uuid.uuid4(),
                complaint_ids=[uuid.uuid4(), uuid.uuid4()],
                incidents=2,
                complainants=1,
                rule="second report in six months",
                raised_at=at(raised),
            ),
            area,
        )
    ]
    if explained:
        found.append(
            envelope(
                TriggerExplained(
                    trigger_id=trigger_id,
                    person_id=uuid.uuid4(),
                    agency_id=COUNCIL,
                    explained_at=at(explained),
                ),
                area,
            )
        )
    return found


def risk(area: UUID, band: str, when: str, agency: UUID = COUNCIL) -> Envelope:
    event = RiskAssessed(
        assessment_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        person_id=uuid.uuid4(),
        receiving_agency_id=agency,
        config_version="default-2026.1",
        score=25 if band == "high" else 5,
        band=band,
        assessed_at=at(when),
    )
    return envelope(event, area)


def repeat_victim(area: UUID, when: str) -> Envelope:
    event = RepeatVictimMarked(
        person_id=uuid.uuid4(),
        complaint_ids=[uuid.uuid4()] * 3,
        incidents=3,
        rule="3 incidents in 3 months",
        marked_at=at(when),
    )
    return envelope(event, area)


def vulnerability(
    area: UUID, when: str, *, vulnerable: bool, previous: bool, origin: str = "officer"
) -> Envelope:
    event = PersonVulnerabilityChanged(
        person_id=uuid.uuid4(),
        vulnerable=vulnerable,
        previous=previous,
        origin=origin,
        agency_id=COUNCIL,
        changed_at=at(when),
    )
    return envelope(event, area)


def partner_update(area: UUID, agency: UUID, when: str, outcome: str = "in_progress") -> Envelope:
    event = PartnerUpdateRecorded(
        update_id=uuid.uuid4(),
        case_reference="DMO-2026-000001-5",
        case_kind="complaint",
        case_id=uuid.uuid4(),
        area_id=area,
        agency_id=agency,
        action="visit",
        note="Visited Ann Example at home",
        outcome=outcome,
        recorded_at=at(when),
    )
    return envelope(event, area)


def disclosures(area: UUID, when: str, *recipients: tuple[UUID, str]) -> Envelope:
    """One shared event's disclosures, (agency, outcome) each, as sharing announces them."""
    event = DisclosuresRecorded(
        source_event_id=uuid.uuid4(),
        source_event_type="intake.complaint.logged.v1",
        occurred_at=at(when),
        protocol_version=1,
        disclosures=[
            DisclosureMade(
                disclosure_id=uuid.uuid4(),
                recipient_agency_id=agency,
                fields=["asb_type", "postcode"] if outcome == "delivered" else [],
                outcome=outcome,
            )
            for agency, outcome in recipients
        ],
    )
    return envelope(event, area)


def disclosure(area: UUID, agency: UUID, when: str, outcome: str = "delivered") -> Envelope:
    """The older one-recipient event (no longer published; still in the streams)."""
    event = DisclosureRecorded(
        disclosure_id=uuid.uuid4(),
        source_event_id=uuid.uuid4(),
        source_event_type="intake.complaint.logged.v1",
        recipient_agency_id=agency,
        fields=["asb_type", "postcode"],
        outcome=outcome,
        occurred_at=at(when),
        reason="refused: no consent from Ann Example" if outcome != "delivered" else None,
    )
    return envelope(event, area)
