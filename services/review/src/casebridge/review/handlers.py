"""Event handlers: as thin as routes (the runner owns the transaction and the inbox).

Every intake contract review acts on is imported and registered here, unconditionally.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import (
    ComplaintLogged,
    ComplaintUpdated,
    ConsentChanged,
    IncidentLinked,
    IncidentUnlinked,
    PersonMerged,
    RiskAssessed,
)
from casebridge.common.events.consumer import Consumer, Handler, consumer_of
from casebridge.common.events.envelope import Contract, Envelope
from casebridge.review import applications, areas, index, triggers
from casebridge.review.index import Windows
from casebridge.review.models import CaseReview, IndexedComplaint, Trigger
from casebridge.review.rules import Finding


class NotIndexedYet(Exception):
    """A change to a complaint whose ComplaintLogged has not arrived yet: retried later (the
    consumer naks it with backoff), so the change is applied after the complaint, whatever
    the order in which intake's events arrive."""


async def on_complaint_logged(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """Index the complaint and evaluate the triggers it may complete (one round trip unless a
    trigger is raised). A complaint made before others already indexed (it arrived late, or
    was back-dated) joins their windows too: those are evaluated again."""
    assert isinstance(data, ComplaintLogged)
    windows = await index.index_complaint(session, data, event_id=envelope.id)
    if windows is None:
        return
    await _evaluate(session, windows)
    if windows.later:
        await _reevaluate(session, envelope.area_id, [data.complaint_id])


async def _evaluate(session: AsyncSession, windows: Windows) -> None:
    rules = await areas.rules_by_id(session, windows.config_id)
    raised = await triggers.evaluate(session, windows, rules)
    if rules.auto_start_review:
        for trigger in raised:
            if trigger.kind in triggers.THRESHOLD_KINDS and trigger.person_id is not None:
                await applications.start_from_trigger(session, trigger=trigger)


async def _reevaluate(session: AsyncSession, area_id: UUID, complaint_ids: Sequence[UUID]) -> None:
    """Evaluate again every window that holds one of the changed complaints, oldest first.

    Triggers already raised stand (each was true when raised and may have been acted on);
    an episode never raises twice, so only a rule newly met raises anything."""
    rules = await areas.rules_for(session, area_id)
    community = rules.local_thresholds.community
    months = max(rules.statutory.window_months, community.window_months if community else 0)
    for area_id, complaint_id in await index.complaints_after(
        session, complaint_ids=complaint_ids, months=months
    ):
        windows = await index.read_windows(session, area_id=area_id, complaint_id=complaint_id)
        if windows is not None:
            await _evaluate(session, windows)


async def on_incident_linked(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """Linked complaints now count once, and may join two strands of the same behaviour."""
    assert isinstance(data, IncidentLinked)
    values = {"incident_id": data.incident_id}
    if await _change(session, envelope, data.complaint_id, data.linked_at, values):
        await _reevaluate(session, envelope.area_id, [data.complaint_id])


async def on_incident_unlinked(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """An unlinked complaint is its own incident again, so it may now complete a threshold."""
    assert isinstance(data, IncidentUnlinked)
    values = {"incident_id": data.incident_id}
    if await _change(session, envelope, data.complaint_id, data.unlinked_at, values):
        await _reevaluate(session, envelope.area_id, [data.complaint_id])


async def on_complaint_updated(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """A corrected type or hate flag may move the complaint to another behaviour."""
    assert isinstance(data, ComplaintUpdated)
    values: dict[str, Any] = {
        "asb_type": data.asb_type,
        "nsir_category": data.nsir_category,
        "hate_motivated": data.hate_motivated,
        "override_purposes": list(data.override_purposes),
    }
    if await _change(session, envelope, data.complaint_id, data.updated_at, values):
        await _reevaluate(session, envelope.area_id, [data.complaint_id])


async def on_consent_changed(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """The victim's consent decides what partners may see of the complaint in review's reads
    (the information-sharing protocol); the latest decision wins, whatever the order."""
    assert isinstance(data, ConsentChanged)
    changed = await session.scalar(
        update(IndexedComplaint)
        .where(
            IndexedComplaint.complaint_id == data.complaint_id,
            or_(
                IndexedComplaint.consent_recorded_at.is_(None),
                IndexedComplaint.consent_recorded_at <= data.recorded_at,
            ),
        )
        .values(
            consent_status=data.consent_to_share,
            consent_recorded_at=data.recorded_at,
            override_purposes=list(data.override_purposes),
        )
        .returning(IndexedComplaint.complaint_id)
    )
    if changed is None and not await _indexed(session, data.complaint_id):
        raise NotIndexedYet(f"complaint {data.complaint_id} is not indexed yet")


async def _change(
    session: AsyncSession,
    envelope: Envelope,
    complaint_id: UUID,
    at: datetime,
    values: dict[str, Any],
) -> bool:
    """Apply intake's change made `at` unless a newer one was applied already (changes may
    arrive out of order); False when this one is older and so changes nothing."""
    changed = await session.scalar(
        update(IndexedComplaint)
        .where(
            IndexedComplaint.complaint_id == complaint_id,
            or_(
                IndexedComplaint.intake_changed_at.is_(None),
                IndexedComplaint.intake_changed_at <= at,
            ),
        )
        .values(**values, intake_changed_at=at, intake_event_id=envelope.id)
        .returning(IndexedComplaint.complaint_id)
    )
    if changed is not None:
        return True
    if not await _indexed(session, complaint_id):
        raise NotIndexedYet(f"complaint {complaint_id} is not indexed yet")
    return False


async def _indexed(session: AsyncSession, complaint_id: UUID) -> bool:
    found = await session.scalar(
        select(IndexedComplaint.complaint_id).where(IndexedComplaint.complaint_id == complaint_id)
    )
    return found is not None


async def on_person_merged(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """One victim, one log: the duplicate's complaints, triggers and reviews become the
    survivor's, so an episode either log raised is not raised again, and the combined
    windows are evaluated for rules only the merged log meets."""
    assert isinstance(data, PersonMerged)
    moved = list(
        await session.scalars(
            update(IndexedComplaint)
            .where(
                or_(
                    IndexedComplaint.complaint_id.in_(data.complaint_ids),
                    IndexedComplaint.person_id == data.merged_id,
                )
            )
            .values(person_id=data.survivor_id, intake_event_id=envelope.id)
            .returning(IndexedComplaint.complaint_id)
        )
    )
    await session.execute(
        update(Trigger)
        .where(Trigger.person_id == data.merged_id)
        .values(person_id=data.survivor_id, subject_key=str(data.survivor_id))
    )
    await session.execute(
        update(CaseReview)
        .where(CaseReview.person_id == data.merged_id)
        .values(person_id=data.survivor_id)
    )
    await _reevaluate(session, envelope.area_id, moved)


async def on_risk_assessed(session: AsyncSession, envelope: Envelope, data: Any) -> None:
    """A high band from intake's risk assessment is a trigger for partners at once."""
    assert isinstance(data, RiskAssessed)
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


HANDLED: dict[type[Contract], Handler] = {
    ComplaintLogged: on_complaint_logged,
    ComplaintUpdated: on_complaint_updated,
    ConsentChanged: on_consent_changed,
    IncidentLinked: on_incident_linked,
    IncidentUnlinked: on_incident_unlinked,
    PersonMerged: on_person_merged,
    RiskAssessed: on_risk_assessed,
}


def intake_consumer(*, max_deliver: int = 10, ack_wait: float = 30.0) -> Consumer:
    """On exactly the subjects of the intake events review acts on."""
    return consumer_of(
        "review-intake", "INTAKE", HANDLED, max_deliver=max_deliver, ack_wait=ack_wait
    )
