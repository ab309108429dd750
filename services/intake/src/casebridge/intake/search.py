"""Lists and searches: every one starts from the visibility builders, pages by cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common import pagination
from casebridge.common.db import utcnow
from casebridge.common.isp import Viewer
from casebridge.common.pagination import Slice
from casebridge.common.periods import add_months
from casebridge.intake import normalise
from casebridge.intake.complaint_reads import by_reference_statement
from casebridge.intake.models import Complaint, Person
from casebridge.intake.people import get_person
from casebridge.intake.visibility import (
    SeenPerson,
    complaint_shows,
    person_field_is,
    person_shows,
    seen_complaints,
    seen_people,
    visible_complaints,
    visible_people,
)


@dataclass(frozen=True)
class ComplaintFilters:
    reference: str | None = None
    person_id: UUID | None = None
    postcode: str | None = None
    agency_id: UUID | None = None
    asb_type: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    vulnerable: bool | None = None


@dataclass(frozen=True)
class PersonFilters:
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    postcode: str | None = None
    vulnerable: bool | None = None


async def list_complaints(
    session: AsyncSession,
    *,
    viewer: Viewer,
    filters: ComplaintFilters,
    cursor: str | None,
    limit: int,
) -> Slice[Any]:
    """Complaints the caller may see, newest first. A filter on a field matches only rows
    whose field the caller may see (a filter must not tell what a read would not)."""
    statement = visible_complaints(viewer)
    if filters.reference:
        statement = by_reference_statement(viewer, filters.reference).order_by(None)
    wanted = {
        "person_id": filters.person_id,
        "postcode": filters.postcode,
        "receiving_agency_id": filters.agency_id,
        "asb_type": filters.asb_type,
    }
    for name, value in wanted.items():
        if value is not None:
            column = getattr(Complaint, name)
            statement = statement.where(column == value, complaint_shows(viewer, name))
    if filters.reported_from or filters.reported_to:
        statement = statement.where(complaint_shows(viewer, "reported_at"))
    if filters.reported_from:
        statement = statement.where(Complaint.reported_at >= filters.reported_from)
    if filters.reported_to:
        statement = statement.where(Complaint.reported_at < filters.reported_to)
    if filters.vulnerable is not None:
        # The complainant's log is (or is not) flagged, where the complaint shows it.
        flagged = select(Person.id).where(Person.vulnerable.is_(True))
        on_flagged = Complaint.person_id.in_(flagged)
        statement = statement.where(
            on_flagged if filters.vulnerable else ~on_flagged, complaint_shows(viewer, "vulnerable")
        )
    found = await pagination.page(
        session, statement, Complaint.reported_at, Complaint.id, cursor=cursor, limit=limit
    )
    page = Slice[Any](await seen_complaints(session, viewer, found.items), found.next_cursor)
    return page


@dataclass
class PersonLog:
    person: SeenPerson
    page: Slice[Any]
    last_6_months: int
    last_12_months: int


async def person_log(
    session: AsyncSession, *, viewer: Viewer, person_id: UUID, cursor: str | None, limit: int
) -> PersonLog:
    """The person's history across every agency (as far as the caller may see), newest
    first, with counts for the last 6 and 12 months (of what the caller may see)."""
    person = await get_person(session, viewer=viewer, person_id=person_id)
    (seen,) = await seen_people(session, viewer, [person])
    mine = visible_complaints(viewer).where(
        Complaint.person_id == person.id, complaint_shows(viewer, "person_id")
    )
    found = await pagination.page(
        session, mine, Complaint.reported_at, Complaint.id, cursor=cursor, limit=limit
    )
    page = Slice[Any](await seen_complaints(session, viewer, found.items), found.next_cursor)
    now = utcnow()
    since_6, since_12 = add_months(now, -6), add_months(now, -12)
    counts = mine.with_only_columns(
        func.count().filter(Complaint.reported_at >= since_6),
        func.count().filter(Complaint.reported_at >= since_12),
    )
    six, twelve = (await session.execute(counts)).one()
    return PersonLog(seen, page, int(six), int(twelve))


async def read_person(session: AsyncSession, *, viewer: Viewer, person_id: UUID) -> SeenPerson:
    person = await get_person(session, viewer=viewer, person_id=person_id)
    (seen,) = await seen_people(session, viewer, [person])
    return seen


async def search_people(
    session: AsyncSession,
    *,
    viewer: Viewer,
    filters: PersonFilters,
    cursor: str | None,
    limit: int,
) -> Slice[Any]:
    """Logs the caller may see, by exact (normalised) fields it may see."""
    statement = visible_people(viewer)
    wanted = {
        "name": normalise.name(filters.name) if filters.name else None,
        "phone": filters.phone,
        "email": filters.email,
        "postcode": filters.postcode,
    }
    for name, value in wanted.items():
        if value is not None:
            statement = statement.where(person_field_is(viewer, name, value))
    if filters.vulnerable is not None:
        statement = statement.where(
            Person.vulnerable.is_(filters.vulnerable), person_shows(viewer, "vulnerable")
        )
    found = await pagination.page(
        session, statement, Person.created_at, Person.id, cursor=cursor, limit=limit
    )
    page = Slice[Any](await seen_people(session, viewer, found.items), found.next_cursor)
    return page
