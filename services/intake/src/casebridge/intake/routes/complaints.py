"""Complaint routes: parse, authorise, delegate."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from pydantic import AfterValidator
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.db import DbSession
from casebridge.common.isp import Decision, Viewer
from casebridge.common.wire import Timestamp
from casebridge.intake import (
    agency_references,
    complaint_changes,
    complaint_reads,
    complaints,
    incidents,
    search,
    timeline,
)
from casebridge.intake.idempotency import IdempotencyKeyHeader, Idempotent
from casebridge.intake.logged import LoggedComplaint
from casebridge.intake.models import Complaint
from casebridge.intake.presenters import complaint_read, complaint_summary, flagged
from casebridge.intake.recorder import ComplaintRecorder
from casebridge.intake.references import checked_lookup
from casebridge.intake.schemas.complaints import (
    AgencyReferenceAdd,
    AsbType,
    ComplaintCreate,
    ComplaintRead,
    ComplaintSummary,
    ComplaintUpdate,
    ConsentChange,
    IncidentLink,
    SharingOverride,
)
from casebridge.intake.schemas.fields import Postcode
from casebridge.intake.schemas.lists import ComplaintMatches, ComplaintPage
from casebridge.intake.schemas.people import MatchUncertainBody
from casebridge.intake.schemas.timeline import TimelineRead
from casebridge.intake.visibility import Seen

from .deps import (
    AREA_NOT_CONFIGURED,
    Areas,
    CanWriteComplaints,
    Cursor,
    PageSize,
    QueryFlag,
    ReadsComplaints,
    WritesComplaints,
    caller,
    json_response,
)

router = APIRouter(tags=["complaints"])

# The receiving agency's view of its own complaint: all of it.
OWN = Decision("complaint", whole=True)

ComplaintId = Annotated[UUID, Path(description="The complaint's id")]
LookupReference = Annotated[
    str,
    Path(min_length=1, max_length=60, description="A Casebridge or agency reference"),
    AfterValidator(checked_lookup),
]


@router.post(
    "/complaints",
    status_code=201,
    response_model=ComplaintRead,
    responses={
        404: {"description": "complainant.person_id names no log the caller may see"},
        409: {
            "model": MatchUncertainBody,
            "description": "The complainant may already have a log: nothing was recorded. "
            "Resend with complainant.person_id (a candidate) or complainant.match = 'new'.",
        },
    },
)
async def log_complaint(
    data: ComplaintCreate,
    who: CanWriteComplaints,
    key: IdempotencyKeyHeader,
    recorder: ComplaintRecorder,
) -> Response:
    """Log a complaint on the complainant's log; the response carries its reference."""
    draft = complaints.Draft(who, data, respond=_created, idempotency=key.claim(caller(who)))
    return await recorder.log(draft)


def _created(complaint: LoggedComplaint, how: str | None) -> Response:
    return json_response(complaint_read(complaint, OWN, how, extras=complaint.told()), 201)


async def _own(session: AsyncSession, complaint: Complaint) -> Response:
    """The receiving agency's own complaint, whole."""
    extras = await complaint_reads.read_extras(session, [complaint])
    return json_response(complaint_read(complaint, OWN, extras=extras[complaint.id]))


@router.get("/complaints", response_model=ComplaintPage, response_model_exclude_unset=True)
async def list_complaints(
    session: DbSession,
    who: ReadsComplaints,
    limit: PageSize = 50,
    cursor: Cursor = None,
    reference: Annotated[str | None, Query(max_length=60), AfterValidator(checked_lookup)] = None,
    person_id: UUID | None = None,
    postcode: Annotated[Postcode | None, Query()] = None,
    agency_id: UUID | None = None,
    asb_type: AsbType | None = None,
    reported_from: Timestamp | None = None,
    reported_to: Timestamp | None = None,
    vulnerable: Annotated[
        QueryFlag | None,
        Query(
            description="The complainant's log is flagged vulnerable (where the protocol "
            "shows the caller that flag)"
        ),
    ] = None,
) -> ComplaintPage:
    """Complaints the caller's agency may see, newest first; filters combine."""
    filters = search.ComplaintFilters(
        reference,
        person_id,
        postcode,
        agency_id,
        asb_type,
        reported_from,
        reported_to,
        vulnerable,
    )
    page = await search.list_complaints(
        session, viewer=who, filters=filters, cursor=cursor, limit=limit
    )
    extras = await complaint_reads.read_extras(session, [c.record for c in page.items])
    return ComplaintPage(
        items=[
            complaint_summary(c.record, c.decision, flagged(extras, c.record.id))
            for c in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/complaints/by-reference/{reference:path}",
    response_model=ComplaintMatches,
    response_model_exclude_unset=True,
)
async def find_by_reference(
    reference: LookupReference, session: DbSession, who: ReadsComplaints
) -> ComplaintMatches:
    """A Casebridge reference (its check character is verified: a misheard one is a 422) or
    any agency's own reference."""
    found = await complaint_reads.find_by_reference(session, viewer=who, value=reference)
    extras = await complaint_reads.read_extras(session, [c.record for c in found])
    return ComplaintMatches(items=[_read(c, who, extras) for c in found])


@router.get(
    "/complaints/{complaint_id}", response_model=ComplaintRead, response_model_exclude_unset=True
)
async def get_complaint(
    complaint_id: ComplaintId, session: DbSession, who: ReadsComplaints
) -> ComplaintRead:
    """The complaint as the caller may see it (the information-sharing protocol decides)."""
    seen = await complaint_reads.read_complaint(session, viewer=who, complaint_id=complaint_id)
    return _read(seen, who, await complaint_reads.read_extras(session, [seen.record]))


@router.get("/complaints/{complaint_id}/timeline", response_model=TimelineRead)
async def complaint_timeline(
    complaint_id: ComplaintId, session: DbSession, who: ReadsComplaints
) -> TimelineRead:
    """The complaint and what followed it in time order (risk, triggers, case review steps,
    partners' actions), each entry as far as the protocol lets the caller see it."""
    entries = await timeline.complaint_timeline(session, viewer=who, complaint_id=complaint_id)
    return TimelineRead.model_validate({"items": entries})


@router.patch("/complaints/{complaint_id}", response_model=ComplaintRead)
async def update_complaint(
    complaint_id: ComplaintId, data: ComplaintUpdate, session: DbSession, who: CanWriteComplaints
) -> Response:
    """The receiving agency corrects its complaint (status, category, type, hate flag)."""
    complaint = await complaint_changes.update_complaint(
        session, principal=who, complaint_id=complaint_id, data=data
    )
    return await _own(session, complaint)


@router.post("/complaints/{complaint_id}/consent", response_model=ComplaintRead)
async def change_consent(
    complaint_id: ComplaintId,
    data: ConsentChange,
    session: DbSession,
    who: CanWriteComplaints,
    idem: Idempotent,
) -> Response:
    """Record the victim's consent to share (given, refused, withdrawn) with its time."""

    async def produce() -> Response:
        complaint = await complaint_changes.change_consent(
            session, principal=who, complaint_id=complaint_id, data=data
        )
        return await _own(session, complaint)

    return await idem.run(produce, caller=caller(who))


@router.post("/complaints/{complaint_id}/sharing-override", response_model=ComplaintRead)
async def record_override(
    complaint_id: ComplaintId,
    data: SharingOverride,
    session: DbSession,
    who: CanWriteComplaints,
    idem: Idempotent,
) -> Response:
    """Share without (or against) consent for one purpose, recorded with its justification
    and approver; the protocol's override rules for that purpose then apply."""

    async def produce() -> Response:
        complaint = await complaint_changes.record_override(
            session, principal=who, complaint_id=complaint_id, data=data
        )
        return await _own(session, complaint)

    return await idem.run(produce, caller=caller(who))


@router.post("/complaints/{complaint_id}/link", response_model=ComplaintRead)
async def link_complaint(
    complaint_id: ComplaintId,
    data: IncidentLink,
    session: DbSession,
    who: WritesComplaints,
    idem: Idempotent,
) -> Response:
    """This complaint describes the same incident as another one (both visible)."""

    async def produce() -> Response:
        seen = await incidents.link_complaint(
            session, viewer=who, complaint_id=complaint_id, to_complaint_id=data.complaint_id
        )
        return json_response(complaint_read(seen.record, seen.decision))

    return await idem.run(produce, caller=caller(_principal(who)))


@router.post("/complaints/{complaint_id}/unlink", response_model=ComplaintRead)
async def unlink_complaint(
    complaint_id: ComplaintId, session: DbSession, who: WritesComplaints, idem: Idempotent
) -> Response:
    """This complaint is a separate incident after all."""

    async def produce() -> Response:
        seen = await incidents.unlink_complaint(session, viewer=who, complaint_id=complaint_id)
        return json_response(complaint_read(seen.record, seen.decision))

    return await idem.run(produce, caller=caller(_principal(who)))


@router.get(
    "/complaints/{complaint_id}/duplicates",
    response_model=list[ComplaintSummary],
    response_model_exclude_unset=True,
    responses=AREA_NOT_CONFIGURED,
)
async def suggest_duplicates(
    complaint_id: ComplaintId, session: DbSession, who: ReadsComplaints, areas: Areas
) -> list[ComplaintSummary]:
    """Likely the same incident: same complainant, type and place within the window."""
    area = await areas.get(session, who.recipient.area_id)
    found = await incidents.suggest_duplicates(
        session, viewer=who, complaint_id=complaint_id, rule=area.config.duplicates
    )
    return [complaint_summary(c.record, c.decision) for c in found]


@router.post(
    "/complaints/{complaint_id}/references",
    status_code=201,
    response_model=ComplaintRead,
    responses={200: {"model": ComplaintRead, "description": "The reference was already there"}},
)
async def add_reference(
    complaint_id: ComplaintId,
    data: AgencyReferenceAdd,
    session: DbSession,
    who: WritesComplaints,
    idem: Idempotent,
) -> Response:
    """Attach the caller's own reference (a CAD or crime number, a case number) to a
    complaint it can see: audited, announced (complaint.reference_added) and found at once
    by /complaints/by-reference."""

    async def produce() -> Response:
        seen, added = await agency_references.add_reference(
            session, viewer=who, complaint_id=complaint_id, reference=data.reference
        )
        extras = await complaint_reads.read_extras(session, [seen.record])
        return json_response(_read(seen, who, extras), 201 if added else 200)

    return await idem.run(produce, caller=caller(_principal(who)))


def _read(seen: Seen[Complaint], who: Viewer, extras: dict[UUID, dict[str, Any]]) -> ComplaintRead:
    return complaint_read(
        seen.record,
        seen.decision,
        agency_id=who.recipient.agency_id,
        extras=extras.get(seen.record.id),
    )


def _principal(viewer: Viewer) -> Principal:
    assert viewer.principal is not None  # a request's viewer always has its caller
    return viewer.principal
