"""The repeat-victim rule: a log is marked a repeat victim once its complainant has
complained about `complaints` separate incidents within `months` calendar months, across
every agency (the area's `repeat_victim` rule). The mark is kept, never moved, and announced.

One pure function (`tally`) decides it for both paths that apply it: the recorder's batch
(the log's recent complaints as matching read them, plus the batch's own) and the ORM path
(after a merge, the survivor's complaints read here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.intake import RepeatVictimMarked
from casebridge.common.db import utcnow
from casebridge.common.events import outbox
from casebridge.common.periods import add_months
from casebridge.intake.config import RepeatVictimRule
from casebridge.intake.models import Complaint, Person


@dataclass(frozen=True, slots=True)
class Counted:
    """A complaint as the rule reads it."""

    complaint_id: UUID
    incident_id: UUID
    reported_at: datetime


@dataclass(frozen=True)
class Tally:
    """The complaints the rule counted, how many separate incidents they are, and whether
    that is enough to mark the log."""

    complaint_ids: tuple[UUID, ...]
    incidents: int
    due: bool


def window_start(rule: RepeatVictimRule, now: datetime) -> datetime:
    """Complaints reported from this instant on count (calendar months back, clamped to
    the month's last day: 31 May - 3 months = 28 February)."""
    return add_months(now, -rule.months)


def tally(rule: RepeatVictimRule, since: datetime, complaints: Iterable[Counted]) -> Tally:
    """Count the complaints reported since the window opened, by separate incident (two
    complaints about one incident count once); due at the rule's number of incidents."""
    counted = [c for c in complaints if c.reported_at >= since]
    incidents = len({c.incident_id for c in counted})
    return Tally(tuple(c.complaint_id for c in counted), incidents, incidents >= rule.complaints)


def marked_event(
    person_id: UUID, counted: Tally, rule: RepeatVictimRule, now: datetime
) -> RepeatVictimMarked:
    """The announcement of a repeat-victim mark, with the complaints that made it."""
    return RepeatVictimMarked(
        person_id=person_id,
        complaint_ids=list(counted.complaint_ids),
        incidents=counted.incidents,
        rule=f"{rule.complaints} incidents in {rule.months} months",
        marked_at=now,
    )


async def recent_complaints(
    session: AsyncSession, person_id: UUID, since: datetime
) -> Sequence[Counted]:
    """The log's complaints reported since the window opened (what matching reads for the
    recorder's batch, read through the session)."""
    rows = await session.execute(
        select(Complaint.id, Complaint.incident_id, Complaint.reported_at).where(
            Complaint.person_id == person_id, Complaint.reported_at >= since
        )
    )
    return [Counted(*row) for row in rows.all()]


async def apply_rule(session: AsyncSession, *, person: Person, rule: RepeatVictimRule) -> bool:
    """Mark the person as a repeat victim if the rule is met now (the ORM path)."""
    if person.repeat_victim_at is not None:
        return False
    now = utcnow()
    since = window_start(rule, now)
    counted = tally(rule, since, await recent_complaints(session, person.id, since))
    if not counted.due:
        return False
    person.repeat_victim_at = now
    event = marked_event(person.id, counted, rule, now)
    outbox.add(session, event, area_id=person.area_id, aggregate_id=person.id)
    return True
