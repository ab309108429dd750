"""Keeping the timeline's read model: review's triggers and review steps and partners'
updates, each event one entry (by the event's id, so a redelivery changes nothing), its
record's fields named as the protocol's catalogue names them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.review import (
    RecommendationsMade,
    ReviewApplied,
    ReviewTransitioned,
    ThresholdDecided,
    TriggerExplained,
    TriggerRaised,
)
from casebridge.common.contracts.sharing import PartnerUpdateRecorded
from casebridge.common.events.consumer import Consumer, Handler
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.intake.models import TimelineEntry

_AS_JSON = TypeAdapter(dict[str, Any])


async def _keep(
    session: AsyncSession,
    envelope: Envelope,
    event: Contract,
    *,
    data_class: str,
    thread_id: UUID,
    occurred_at: datetime,
    values: Mapping[str, Any],
    opens_thread: bool = False,
    person_id: UUID | None = None,
    complaint_ids: list[UUID] | None = None,
    case_reference: str | None = None,
    recorder: UUID | None = None,
) -> None:
    await session.execute(
        insert(TimelineEntry)
        .values(
            id=envelope.id,
            area_id=envelope.area_id,
            kind=event.name,
            data_class=data_class,
            thread_id=thread_id,
            opens_thread=opens_thread,
            person_id=person_id,
            complaint_ids=complaint_ids or [],
            case_reference=case_reference,
            recorder_agency_id=recorder,
            occurred_at=occurred_at,
            values=dict(values),
        )
        .on_conflict_do_nothing()
    )


async def on_trigger_raised(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    assert isinstance(event, TriggerRaised)
    values = {
        "id": event.trigger_id, "kind": event.kind, "state": "raised",
        "person_id": event.person_id, "complaint_ids": event.complaint_ids,
        "detail": {"rule": event.rule, "incidents": event.incidents,
                   "complainants": event.complainants},
        "raised_at": event.raised_at, "review_id": event.review_id,
    }  # fmt: skip
    await _keep(
        session, envelope, event, data_class="trigger", thread_id=event.trigger_id,
        occurred_at=event.raised_at, values=_json(values), opens_thread=True,
        person_id=event.person_id, complaint_ids=event.complaint_ids,
    )  # fmt: skip


async def on_trigger_explained(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    assert isinstance(event, TriggerExplained)
    values = {
        "id": event.trigger_id, "state": "explained", "person_id": event.person_id,
        "explained_at": event.explained_at, "explained_by_agency_id": event.agency_id,
    }  # fmt: skip
    await _keep(
        session, envelope, event, data_class="trigger", thread_id=event.trigger_id,
        occurred_at=event.explained_at, values=_json(values),
    )  # fmt: skip


async def on_review_applied(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    assert isinstance(event, ReviewApplied)
    values = {
        "id": event.review_id, "reference": event.reference, "state": "applied",
        "person_id": event.person_id, "applicant_kind": event.applicant_kind,
        "received_by_agency_id": event.received_by_agency_id,
        "complaint_ids": event.complaint_ids, "trigger_id": event.trigger_id,
        "applied_at": event.applied_at, "recorded_at": event.recorded_at,
    }  # fmt: skip
    await _keep(
        session, envelope, event, data_class="review", thread_id=event.review_id,
        occurred_at=event.applied_at, values=_json(values), opens_thread=True,
        person_id=event.person_id, complaint_ids=event.complaint_ids,
        case_reference=event.reference, recorder=event.received_by_agency_id,
    )  # fmt: skip


async def on_review_step(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    """A case review's step: a transition, the threshold decision, the recommendations."""
    match event:
        case ReviewTransitioned():
            at = event.at
            values: dict[str, Any] = {
                "state": event.to_state, "updated_at": at,
                "history": {"action": event.action, "from_state": event.from_state,
                            "to_state": event.to_state, "agency_id": event.agency_id},
            }  # fmt: skip
        case ThresholdDecided():
            at = event.decided_at
            values = {"threshold_met": event.met, "threshold_automatic": event.automatic,
                      "updated_at": at}  # fmt: skip
        case RecommendationsMade():
            at = event.agreed_at
            values = {"lead_agency_id": event.lead_agency_id,
                      "recommendations": event.recommendations,
                      "victim_consulted": event.victim_consulted, "updated_at": at}  # fmt: skip
        case _:
            raise TypeError(f"not a review step: {type(event).__name__}")
    values |= {"id": event.review_id, "reference": event.reference}
    await _keep(
        session, envelope, event, data_class="review", thread_id=event.review_id,
        occurred_at=at, values=_json(values), case_reference=event.reference,
    )  # fmt: skip


async def on_partner_update(session: AsyncSession, envelope: Envelope, event: Any) -> None:
    """A partner's update opens its own thread on a complaint, and joins a case review's."""
    assert isinstance(event, PartnerUpdateRecorded)
    values = {
        "id": event.update_id, "case_reference": event.case_reference,
        "agency_id": event.agency_id, "action": event.action, "note": event.note,
        "outcome": event.outcome, "next_step": event.next_step, "due_on": event.due_on,
        "recorded_at": event.recorded_at,
    }  # fmt: skip
    on_review = event.case_kind == "review"
    await _keep(
        session, envelope, event, data_class="partner_update",
        thread_id=event.case_id if on_review else event.update_id,
        occurred_at=event.recorded_at, values=_json(values), opens_thread=not on_review,
        person_id=event.person_id, complaint_ids=[] if on_review else [event.case_id],
        case_reference=event.case_reference, recorder=event.agency_id,
    )  # fmt: skip


def _json(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values as JSON stores them (ids and times as text)."""
    return dict(_AS_JSON.dump_python(dict(values), mode="json"))


REVIEW_EVENTS: dict[type[Contract], Handler] = {
    TriggerRaised: on_trigger_raised,
    TriggerExplained: on_trigger_explained,
    ReviewApplied: on_review_applied,
    ReviewTransitioned: on_review_step,
    ThresholdDecided: on_review_step,
    RecommendationsMade: on_review_step,
}


def consumers(*, max_deliver: int, ack_wait: float) -> list[Consumer]:
    """Intake's timeline listens to review (triggers, review steps) and to sharing (partner
    updates)."""

    def consumer(name: str, stream: str, handlers: Mapping[type[Contract], Handler]) -> Consumer:
        return Consumer(
            name=name,
            stream=stream,
            subjects=[f"{c.source}.*.{c.name}.v{c.version}" for c in handlers],
            handlers={c.event_type(): h for c, h in handlers.items()},
            max_deliver=max_deliver,
            ack_wait=ack_wait,
        )

    return [
        consumer("intake-timeline-review", "REVIEW", REVIEW_EVENTS),
        consumer("intake-timeline-sharing", "SHARING", {PartnerUpdateRecorded: on_partner_update}),
    ]
