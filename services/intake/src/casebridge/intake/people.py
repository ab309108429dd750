"""People and their complaint logs: reading a log the caller may see, merging two logs."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import PersonMerged
from casebridge.common.db import utcnow
from casebridge.common.events import outbox
from casebridge.common.isp import Viewer
from casebridge.intake import repeat_victims
from casebridge.intake.config import RepeatVictimRule
from casebridge.intake.errors import CannotMergeIntoItself, PersonNotFound
from casebridge.intake.models import Complaint, Person, PersonMerge
from casebridge.intake.visibility import visible_people


async def get_person(session: AsyncSession, *, viewer: Viewer, person_id: UUID) -> Person:
    person = await session.scalar(visible_people(viewer).where(Person.id == person_id))
    if person is None:
        raise PersonNotFound("person not found")
    return person


def _merge_sharing(survivor: Person, duplicate: Person) -> None:
    """One log, one word on sharing: the later consent decision, every override."""
    later = duplicate.consent_recorded_at is not None and (
        survivor.consent_recorded_at is None
        or duplicate.consent_recorded_at > survivor.consent_recorded_at
    )
    if later:
        survivor.consent_status = duplicate.consent_status
        survivor.consent_recorded_at = duplicate.consent_recorded_at
    survivor.override_purposes = sorted({*survivor.override_purposes, *duplicate.override_purposes})


async def merge_people(
    session: AsyncSession,
    *,
    viewer: Viewer,
    survivor_id: UUID,
    duplicate_id: UUID,
    reason: str,
    rule: RepeatVictimRule,
) -> PersonMerge:
    """Merge a duplicate log into the survivor: its complaints move, the duplicate is kept
    (pointing at the survivor) and the merge is audited and announced."""
    if survivor_id == duplicate_id:
        raise CannotMergeIntoItself("a person cannot be merged into itself")
    principal = viewer.principal
    assert principal is not None
    survivor = await get_person(session, viewer=viewer, person_id=survivor_id)
    duplicate = await get_person(session, viewer=viewer, person_id=duplicate_id)
    moved = list(
        await session.scalars(
            update(Complaint)
            .where(Complaint.person_id == duplicate.id)
            .values(person_id=survivor.id, updated_at=func.now())
            .returning(Complaint.id)
        )
    )
    duplicate.merged_into_id = survivor.id
    for field in ("date_of_birth", "phone", "email", "address", "postcode"):
        if getattr(survivor, field) is None:
            setattr(survivor, field, getattr(duplicate, field))
    if duplicate.repeat_victim_at and not survivor.repeat_victim_at:
        survivor.repeat_victim_at = duplicate.repeat_victim_at
    if duplicate.vulnerable:  # a vulnerability known on either log stands on the survivor
        survivor.vulnerable = True
        survivor.vulnerability_reasons = sorted(
            {*survivor.vulnerability_reasons, *duplicate.vulnerability_reasons}
        )
    _merge_sharing(survivor, duplicate)
    audit = PersonMerge(
        survivor_id=survivor.id,
        merged_id=duplicate.id,
        agency_id=principal.agency_id,
        merged_by=principal.subject,
        reason=reason,
        complaint_ids=[str(i) for i in moved],
        merged_at=utcnow(),
    )
    session.add(audit)
    await session.flush()
    event = PersonMerged(
        survivor_id=survivor.id,
        merged_id=duplicate.id,
        complaint_ids=moved,
        merged_by_agency_id=principal.agency_id,
        merged_at=audit.merged_at,
    )
    outbox.add(session, event, area_id=survivor.area_id, aggregate_id=survivor.id)
    await repeat_victims.apply_rule(session, person=survivor, rule=rule)
    return audit
