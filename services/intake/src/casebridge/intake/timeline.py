"""One timeline of a person or a complaint, in time order: complaints, risk assessments,
vulnerability flags, review's triggers and case review steps, and what partners did. Every
entry is decided by the information-sharing protocol for the caller (the same decision
every read takes): an entry it may see nothing of is left out, the others show only the
granted fields (redacted ones as null, named in `redacted_fields`).

Review's and partners' entries come from their events (`timeline_events`); the caller
stands to them as the protocol's relations say: the recorder of a case review or of a
partner update is the agency that received or wrote it, the recorder of a trigger is an
agency that took one of its complaints, invited agencies from the case's invitations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.isp import Basis, Decision, Viewer, relations_of
from casebridge.common.isp.catalogue import postcode_district
from casebridge.intake.complaint_reads import get_complaint
from casebridge.intake.models import (
    CaseInvitation,
    Complaint,
    PersonVulnerability,
    RiskAssessment,
    TimelineEntry,
)
from casebridge.intake.people import get_person
from casebridge.intake.risk import decide_risk
from casebridge.intake.visibility import Seen, seen_complaints, seen_people, visible_complaints

# What a timeline shows of a complaint and of an assessment (the record itself is a read away).
COMPLAINT_FIELDS = (
    "id", "reference", "receiving_agency_id", "channel", "status", "person_id", "reported_at",
    "occurred_at", "nsir_category", "asb_type", "hate_motivated", "postcode_district",
)  # fmt: skip
RISK_FIELDS = ("id", "complaint_id", "score", "band", "agency_id", "assessed_at")  # + previous_band


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str
    id: UUID
    data: dict[str, Any]
    redacted_fields: list[str] = field(default_factory=list)


async def person_timeline(session: AsyncSession, *, viewer: Viewer, person_id: UUID) -> list[Entry]:
    """A log the caller may see, and everything on it the caller may see."""
    person = await get_person(session, viewer=viewer, person_id=person_id)
    statement = visible_complaints(viewer).where(Complaint.person_id == person.id)
    complaints = list((await session.scalars(statement)).all())
    entries = await _timeline(session, viewer, complaints, person_id=person.id)
    (seen_person,) = await seen_people(session, viewer, [person])
    if seen_person.decision.shows("vulnerable"):
        entries += await _vulnerability(session, person.id)
    return _ordered(entries)


async def complaint_timeline(
    session: AsyncSession, *, viewer: Viewer, complaint_id: UUID
) -> list[Entry]:
    """A complaint the caller may see, and what followed it."""
    complaint = await get_complaint(
        session, viewer=viewer, complaint_id=complaint_id, details=False
    )
    return _ordered(await _timeline(session, viewer, [complaint], person_id=None))


async def _timeline(
    session: AsyncSession, viewer: Viewer, complaints: list[Complaint], *, person_id: UUID | None
) -> list[Entry]:
    seen = await seen_complaints(session, viewer, complaints)
    entries = [_complaint_entry(c) for c in seen if c.decision.visible]
    entries += await _risk(session, viewer, {c.record.id: c for c in seen})
    mine = {c.id for c in complaints if c.receiving_agency_id == viewer.recipient.agency_id}
    entries += await _threads(
        session, viewer, [c.id for c in complaints], person_id=person_id, mine=mine
    )
    return entries


def _complaint_entry(seen: Seen[Complaint]) -> Entry:
    record = seen.record
    values = {
        name: getattr(record, name) for name in COMPLAINT_FIELDS if name != "postcode_district"
    }
    values["postcode_district"] = postcode_district(record.postcode)
    return _entry(record.reported_at, "complaint.logged", record.id, values, seen.decision)


async def _risk(
    session: AsyncSession, viewer: Viewer, complaints: dict[UUID, Seen[Complaint]]
) -> list[Entry]:
    if not complaints:
        return []
    rows = await session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.complaint_id.in_(list(complaints)))
        .order_by(RiskAssessment.complaint_id, RiskAssessment.assessed_at, RiskAssessment.id)
    )
    entries = []
    previous: dict[UUID, str] = {}  # each complaint's band before this assessment
    for row in rows:
        decision = decide_risk(viewer, row, complaints[row.complaint_id])
        band_before = previous.get(row.complaint_id)
        previous[row.complaint_id] = row.band
        if decision.visible:
            values = {name: getattr(row, name) for name in RISK_FIELDS}
            values["previous_band"] = band_before
            entries.append(_entry(row.assessed_at, "risk.assessed", row.id, values, decision))
    return entries


async def _vulnerability(session: AsyncSession, person_id: UUID) -> list[Entry]:
    """Flags and clearings of a log whose flag the caller may see (not the reasons)."""
    rows = await session.scalars(
        select(PersonVulnerability).where(PersonVulnerability.person_id == person_id)
    )
    return [
        Entry(row.recorded_at, "vulnerability.changed", row.id,
              {"person_id": row.person_id, "vulnerable": row.vulnerable,
               "recorded_at": row.recorded_at})
        for row in rows
    ]  # fmt: skip


async def _threads(
    session: AsyncSession,
    viewer: Viewer,
    complaint_ids: list[UUID],
    *,
    person_id: UUID | None,
    mine: set[UUID],
) -> list[Entry]:
    """Review's and partners' entries on these complaints (or this person), each decided."""
    opened = [TimelineEntry.complaint_ids.overlap(complaint_ids)] if complaint_ids else []
    if person_id is not None:
        opened.append(TimelineEntry.person_id == person_id)
    if not opened:
        return []
    openers = select(TimelineEntry.thread_id).where(TimelineEntry.opens_thread, or_(*opened))
    rows = list(
        (
            await session.scalars(select(TimelineEntry).where(TimelineEntry.thread_id.in_(openers)))
        ).all()
    )
    threads = {row.thread_id: row for row in rows if row.opens_thread}
    invited = await _invited(session, viewer, {r.case_reference for r in rows} - {None})
    entries = []
    for row in rows:
        opener = threads.get(row.thread_id, row)
        relations = relations_of(
            viewer.recipient,
            recorder=_recorder(viewer, row, opener, mine),
            invited=(row.case_reference or opener.case_reference) in invited,
        )
        decision = viewer.decide(row.data_class, relations, Basis())
        if decision.visible:
            entries.append(_entry(row.occurred_at, row.kind, row.id, row.values, decision))
    return entries


def _recorder(viewer: Viewer, row: TimelineEntry, opener: TimelineEntry, mine: set[UUID]) -> bool:
    me = viewer.recipient.agency_id
    if row.data_class == "trigger":
        return bool(mine & set(opener.complaint_ids))
    return (row.recorder_agency_id or opener.recorder_agency_id) == me


async def _invited(session: AsyncSession, viewer: Viewer, references: set[Any]) -> set[str]:
    if not references:
        return set()
    found = await session.scalars(
        select(CaseInvitation.case_reference).where(
            CaseInvitation.agency_id == viewer.recipient.agency_id,
            CaseInvitation.invited.is_(True),
            CaseInvitation.case_reference.in_(references),
        )
    )
    return set(found)


def _entry(at: datetime, kind: str, id: UUID, values: dict[str, Any], decision: Decision) -> Entry:
    shown = decision.project(values)
    redacted = sorted(k for k in shown if not decision.shows(k))
    return Entry(at, kind, id, shown, redacted)


def _ordered(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.at, e.id))
