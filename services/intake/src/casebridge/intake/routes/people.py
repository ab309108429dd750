"""People and complaint-log routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from casebridge.common.db import DbSession
from casebridge.intake import people, search, timeline, vulnerability
from casebridge.intake.idempotency import Idempotent
from casebridge.intake.presenters import complaint_summary, person_read
from casebridge.intake.schemas.fields import Postcode
from casebridge.intake.schemas.lists import ComplaintPage, PersonLogRead, PersonPage
from casebridge.intake.schemas.people import (
    Email,
    PersonMergeCreate,
    PersonMergeRead,
    PersonRead,
    Phone,
    VulnerabilityChange,
    VulnerabilityRead,
)
from casebridge.intake.schemas.timeline import TimelineRead

from .deps import (
    Areas,
    Cursor,
    PageSize,
    QueryFlag,
    ReadsPeople,
    WritesPeople,
    caller,
    json_response,
)

router = APIRouter(tags=["people"])

PersonId = Annotated[UUID, Path(description="The person's id")]


@router.get("/people", response_model=PersonPage, response_model_exclude_unset=True)
async def search_people(
    session: DbSession,
    who: ReadsPeople,
    limit: PageSize = 50,
    cursor: Cursor = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    phone: Annotated[Phone | None, Query()] = None,
    email: Annotated[Email | None, Query()] = None,
    postcode: Annotated[Postcode | None, Query()] = None,
    vulnerable: Annotated[
        QueryFlag | None,
        Query(description="Flagged vulnerable (only logs whose flag the protocol shows)"),
    ] = None,
) -> PersonPage:
    """Logs the caller's agency may see, by exact (normalised) fields it may see: the ones
    the information-sharing protocol shows it, or the details it supplied itself."""
    filters = search.PersonFilters(name, phone, email, postcode, vulnerable)
    page = await search.search_people(
        session, viewer=who, filters=filters, cursor=cursor, limit=limit
    )
    return PersonPage(
        items=[person_read(p.record, p.decision, p.supplied) for p in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/people/{person_id}", response_model=PersonRead, response_model_exclude_unset=True)
async def get_person(person_id: PersonId, session: DbSession, who: ReadsPeople) -> PersonRead:
    """The log as the caller may see it: the protocol's fields and what it supplied."""
    seen = await search.read_person(session, viewer=who, person_id=person_id)
    return person_read(seen.record, seen.decision, seen.supplied)


@router.get(
    "/people/{person_id}/log", response_model=PersonLogRead, response_model_exclude_unset=True
)
async def person_log(
    person_id: PersonId,
    session: DbSession,
    who: ReadsPeople,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> PersonLogRead:
    """The person's history across every agency, newest first, with 6- and 12-month counts
    (of what the caller's agency may see)."""
    log = await search.person_log(
        session, viewer=who, person_id=person_id, cursor=cursor, limit=limit
    )
    seen = log.person
    return PersonLogRead(
        person=person_read(seen.record, seen.decision, seen.supplied),
        last_6_months=log.last_6_months,
        last_12_months=log.last_12_months,
        complaints=ComplaintPage(
            items=[complaint_summary(c.record, c.decision) for c in log.page.items],
            next_cursor=log.page.next_cursor,
        ),
    )


@router.post("/people/{person_id}/vulnerability", status_code=201, response_model=VulnerabilityRead)
async def change_vulnerability(
    person_id: PersonId,
    data: VulnerabilityChange,
    session: DbSession,
    who: WritesPeople,
    idem: Idempotent,
) -> Response:
    """Flag a log the caller may see as vulnerable, or clear the flag, with the reason
    (audited; person.vulnerability_changed when the flag changes)."""

    async def produce() -> Response:
        flag = await vulnerability.flag_by_officer(
            session, viewer=who, person_id=person_id, vulnerable=data.vulnerable, reason=data.reason
        )
        return json_response(VulnerabilityRead.model_validate(flag), 201)

    assert who.principal is not None
    return await idem.run(produce, caller=caller(who.principal))


@router.post("/people/{person_id}/merge", status_code=201, response_model=PersonMergeRead)
async def merge(
    person_id: PersonId,
    data: PersonMergeCreate,
    session: DbSession,
    who: WritesPeople,
    areas: Areas,
    idem: Idempotent,
) -> Response:
    """Merge a duplicate log into this one (both must be logs the caller may see; audited;
    PersonMerged)."""

    async def produce() -> Response:
        config = (await areas.get(session, who.recipient.area_id)).config
        audit = await people.merge_people(
            session,
            viewer=who,
            survivor_id=person_id,
            duplicate_id=data.duplicate_id,
            reason=data.reason,
            rule=config.repeat_victim,
        )
        return json_response(PersonMergeRead.model_validate(audit), 201)

    assert who.principal is not None
    return await idem.run(produce, caller=caller(who.principal))


@router.get("/people/{person_id}/timeline", response_model=TimelineRead)
async def person_timeline(
    person_id: PersonId, session: DbSession, who: ReadsPeople
) -> TimelineRead:
    """Everything on the log in time order (complaints, risk, vulnerability, triggers, case
    review steps, partners' actions), each entry as far as the protocol lets the caller see
    it; entries it may see nothing of are left out."""
    entries = await timeline.person_timeline(session, viewer=who, person_id=person_id)
    return TimelineRead.model_validate({"items": entries})
