"""Lists and searches: every one starts from the visibility builders, pages by cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.db import utcnow
from casebridge.intake import normalise, pagination
from casebridge.intake.complaints import by_reference_statement
from casebridge.intake.models import Complaint, Person
from casebridge.intake.people import get_person, months_ago
from casebridge.intake.visibility import visible_complaints, visible_people


@dataclass(frozen=True)
class ComplaintFilters:
    reference: str | None = None
    person_id: UUID | None = None
    postcode: str | None = None
    agency_id: UUID | None = None
    asb_type: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None


@dataclass(frozen=True)
class PersonFilters:
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    postcode: str | None = None


@dataclass
class PageOf:
    items: list[Any]
    next_cursor: str | None


async def _page(
    session: AsyncSession,
    statement: Select[Any],
    at: Any,
    row_id: Any,
    cursor: str | None,
    limit: int,
) -> PageOf:
    """Newest first by (time, id); the cursor is the last row's key."""
    if cursor is not None:
        after_at, after_id = pagination.decode(cursor)
        statement = statement.where(tuple_(at, row_id) < tuple_(after_at, after_id))
    statement = statement.order_by(at.desc(), row_id.desc()).limit(limit + 1)
    rows = list(await session.scalars(statement))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more else None
    next_cursor = pagination.encode(getattr(last, at.key), last.id) if last else None
    return PageOf(rows, next_cursor)


async def list_complaints(
    session: AsyncSession,
    *,
    principal: Principal,
    filters: ComplaintFilters,
    cursor: str | None,
    limit: int,
) -> PageOf:
    statement = visible_complaints(principal)
    if filters.reference:
        statement = by_reference_statement(principal, filters.reference).order_by(None)
    if filters.person_id:
        statement = statement.where(Complaint.person_id == filters.person_id)
    if filters.postcode:
        statement = statement.where(Complaint.postcode == filters.postcode)
    if filters.agency_id:
        statement = statement.where(Complaint.receiving_agency_id == filters.agency_id)
    if filters.asb_type:
        statement = statement.where(Complaint.asb_type == filters.asb_type)
    if filters.reported_from:
        statement = statement.where(Complaint.reported_at >= filters.reported_from)
    if filters.reported_to:
        statement = statement.where(Complaint.reported_at < filters.reported_to)
    return await _page(session, statement, Complaint.reported_at, Complaint.id, cursor, limit)


@dataclass
class PersonLog:
    person: Person
    page: PageOf
    last_6_months: int
    last_12_months: int


async def person_log(
    session: AsyncSession, *, principal: Principal, person_id: UUID, cursor: str | None, limit: int
) -> PersonLog:
    """The person's whole history across every agency (as far as the caller may see),
    newest first, with counts for the last 6 and 12 months."""
    person = await get_person(session, principal=principal, person_id=person_id)
    mine = visible_complaints(principal).where(Complaint.person_id == person.id)
    page = await _page(session, mine, Complaint.reported_at, Complaint.id, cursor, limit)
    now = utcnow()
    since_6, since_12 = months_ago(now, 6), months_ago(now, 12)
    counts = mine.with_only_columns(
        func.count().filter(Complaint.reported_at >= since_6),
        func.count().filter(Complaint.reported_at >= since_12),
    )
    six, twelve = (await session.execute(counts)).one()
    return PersonLog(person, page, int(six), int(twelve))


async def search_people(
    session: AsyncSession,
    *,
    principal: Principal,
    filters: PersonFilters,
    cursor: str | None,
    limit: int,
) -> PageOf:
    statement = visible_people(principal)
    if filters.name:
        statement = statement.where(Person.name_norm == normalise.name(filters.name))
    if filters.phone:
        statement = statement.where(Person.phone == filters.phone)
    if filters.email:
        statement = statement.where(Person.email == filters.email)
    if filters.postcode:
        statement = statement.where(Person.postcode == filters.postcode)
    return await _page(session, statement, Person.created_at, Person.id, cursor, limit)
