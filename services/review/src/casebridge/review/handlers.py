"""Event handlers: as thin as routes (the runner owns the transaction and the inbox).

Intake's later contracts (incident links, merges, risk) are looked up by event type, so
review runs against an intake that does not publish them yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.events.consumer import Consumer, Handler
from casebridge.common.events.envelope import Envelope
from casebridge.review import areas, index, triggers, workflow
from casebridge.review.config import AreaRules
from casebridge.review.models import IndexedComplaint, Trigger
from casebridge.review.rules import Finding


async def on_complaint_logged(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """Index the complaint, then evaluate the triggers it may complete."""
    assert isinstance(data, ComplaintLogged)
    rules = await areas.rules_for(session, data.area_id)
    row = await index.index_complaint(session, data, rules)
    if row is not None:
        await _evaluate(session, row, rules)


async def _evaluate(
    session: AsyncSession, row: IndexedComplaint, rules: AreaRules | None = None
) -> None:
    rules = rules or await areas.rules_for(session, row.area_id)
    raised = await triggers.evaluate(session, row, rules)
    if rules.auto_start_review:
        for trigger in raised:
            await _maybe_auto_start(session, trigger)


async def _maybe_auto_start(session: AsyncSession, trigger: Trigger) -> None:
    if trigger.kind in triggers.THRESHOLD_KINDS and trigger.person_id is not None:
        await workflow.start_from_trigger(session, trigger=trigger)


async def on_incident_linked(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """Linked complaints now count once; triggers already raised stand."""
    await session.execute(
        update(IndexedComplaint)
        .where(IndexedComplaint.complaint_id == data.complaint_id)
        .values(incident_id=data.incident_id)
    )


async def on_incident_unlinked(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """An unlinked complaint is its own incident again, so it may now complete a threshold."""
    row = await session.scalar(
        update(IndexedComplaint)
        .where(IndexedComplaint.complaint_id == data.complaint_id)
        .values(incident_id=None)
        .returning(IndexedComplaint)
    )
    if row is not None:
        await _evaluate(session, row)


async def on_person_merged(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """The merged log's complaints join the survivor's; evaluate at the survivor's latest."""
    await session.execute(
        update(IndexedComplaint)
        .where(IndexedComplaint.complaint_id.in_(data.complaint_ids))
        .values(person_id=data.survivor_id)
    )
    latest = await session.scalar(
        select(IndexedComplaint)
        .where(IndexedComplaint.person_id == data.survivor_id)
        .order_by(IndexedComplaint.reported_at.desc())
        .limit(1)
    )
    if latest is not None:
        await _evaluate(session, latest)


async def on_risk_assessed(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """A high band from intake's risk assessment is a trigger for partners at once."""
    if data.band != "high" or data.previous_band == "high":
        return
    subject = data.person_id or data.complaint_id
    finding = Finding(
        kind="high_risk",
        subject_key=str(subject),
        person_id=data.person_id,
        complaint_ids=(data.complaint_id,),
        incidents=1,
        complainants=1,
        rule=f"risk assessment scored {data.score} (band high, matrix {data.config_version})",
    )
    await triggers.raise_once(session, finding, area_id=envelope.area_id)


_OPTIONAL: dict[str, Handler] = {
    "intake.incident.linked.v1": on_incident_linked,
    "intake.incident.unlinked.v1": on_incident_unlinked,
    "intake.person.merged.v1": on_person_merged,
    "intake.risk.assessed.v1": on_risk_assessed,
}


def intake_handlers() -> dict[str, Handler]:
    from casebridge.common.events.envelope import contract_for

    handlers: dict[str, Handler] = {ComplaintLogged.event_type(): on_complaint_logged}
    handlers.update({t: h for t, h in _OPTIONAL.items() if contract_for(t) is not None})
    return handlers


def intake_consumer(*, max_deliver: int = 10, ack_wait: float = 30.0) -> Consumer:
    return Consumer(
        name="review-intake",
        stream="INTAKE",
        subjects=["intake.*.>"],
        handlers=intake_handlers(),
        max_deliver=max_deliver,
        ack_wait=ack_wait,
    )
