"""The cases sharing knows of (complaints from intake, case reviews from review), and the
agencies invited to one case: an invited agency stands in the `invited` relation to that
case's records under the protocol.

Who invites: the area's partnership administrator (shares:admin) to any case of the area;
the SPOC to a case review (the review's panel may need a partner the protocol does not name).
Each invitation and removal is kept (append-only) and announced (InvitationChanged).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect

from casebridge.common.auth import Principal
from casebridge.common.contracts.intake import ComplaintLogged
from casebridge.common.contracts.review import ReviewApplied
from casebridge.common.contracts.sharing import InvitationChanged
from casebridge.common.db import new_id, utcnow
from casebridge.common.errors import Forbidden, NotFound
from casebridge.common.events import outbox
from casebridge.common.events.envelope import Envelope
from casebridge.sharing.errors import Unprocessable
from casebridge.sharing.models import Agency, CaseIndex, InvitationChange
from casebridge.sharing.reads import Rows, json_rows, uuid_of
from casebridge.sharing.visibility import visible_cases

ADMIN_ROLE = "partnership_admin"
SPOC_ROLE = "spoc"


class CaseNotFound(NotFound):
    code = "case_not_found"


class InvitationNotFound(NotFound):
    code = "invitation_not_found"


# ---- the case index ---------------------------------------------------------------------
async def index_complaint(session: AsyncSession, *, event: ComplaintLogged, at: datetime) -> None:
    await _index(
        session,
        reference=event.reference,
        area_id=event.area_id,
        kind="complaint",
        case_id=event.complaint_id,
        person_id=event.person_id,
        recorder=event.receiving_agency_id,
        consent_to_share=event.consent_to_share,
        basis_recorded_at=at,
        override_purposes=sorted(event.override_purposes),
        perpetrator_landlord_ids=list(event.perpetrator_landlord_ids),
    )


async def find_case(
    session: AsyncSession, case_id: UUID, *, for_update: bool = False
) -> CaseIndex | None:
    """A complaint or case review by its id (events after the first name it by id)."""
    statement = select(CaseIndex).where(CaseIndex.case_id == case_id)
    return await session.scalar(statement.with_for_update() if for_update else statement)


async def record_basis(
    session: AsyncSession,
    *,
    case_id: UUID,
    consent: str | None,
    overrides: list[str],
    at: datetime,
) -> CaseIndex | None:
    """A complaint's consent or overrides changed: later events are decided on the new basis.
    A change intake made before the one kept (`at`: its event's time, set in intake's
    transaction; a retried message can come late) leaves the consent as it is; override
    purposes only accumulate."""
    case = await find_case(session, case_id, for_update=True)
    if case is None:
        return None
    newer = case.basis_recorded_at is None or at >= case.basis_recorded_at
    if consent is not None and newer:
        case.consent_to_share = consent
        case.basis_recorded_at = at
    case.override_purposes = sorted({*case.override_purposes, *overrides})
    await session.flush()
    return case


async def index_review(session: AsyncSession, *, envelope: Envelope, event: ReviewApplied) -> None:
    await _index(
        session,
        reference=event.reference,
        area_id=envelope.area_id,
        kind="review",
        case_id=event.review_id,
        person_id=event.person_id,
        recorder=event.received_by_agency_id,
    )


async def _index(
    session: AsyncSession,
    *,
    reference: str,
    area_id: UUID,
    kind: str,
    case_id: UUID,
    person_id: UUID | None,
    recorder: UUID,
    **basis: Any,
) -> None:
    await session.execute(
        insert(CaseIndex)
        .values(
            reference=reference,
            area_id=area_id,
            kind=kind,
            case_id=case_id,
            person_id=person_id,
            recorder_agency_id=recorder,
            **basis,
        )
        .on_conflict_do_nothing()
    )


# ---- who may invite: one rule ------------------------------------------------------------
def _is_admin(principal: Principal) -> bool:
    return ADMIN_ROLE in principal.roles and principal.has("shares:admin")


def check_may_invite(principal: Principal, case: CaseIndex | None = None) -> None:
    """The administrator to any case; the SPOC to case reviews; nobody else."""
    if _is_admin(principal):
        return
    if SPOC_ROLE not in principal.roles:
        raise Forbidden(f"inviting needs the {ADMIN_ROLE} role (with shares:admin) or {SPOC_ROLE}")
    if case is not None and case.kind != "review":
        raise Forbidden("a SPOC invites agencies to case reviews; ask the administrator")


async def get_case(
    session: AsyncSession, principal: Principal, reference: str, *, for_update: bool = False
) -> CaseIndex:
    check_may_invite(principal)
    statement = visible_cases(principal).where(CaseIndex.reference == reference)
    case = await session.scalar(statement.with_for_update() if for_update else statement)
    if case is None:
        raise CaseNotFound(f"no case {reference} in your area")
    check_may_invite(principal, case)
    return case


# ---- invitations ------------------------------------------------------------------------
def _latest_changes(reference: str) -> Select[InvitationChange]:
    """The change in force for each agency of one case."""
    return (
        select(InvitationChange)
        .where(InvitationChange.case_reference == reference)
        .ext(distinct_on(InvitationChange.agency_id))
        .order_by(
            InvitationChange.agency_id,
            InvitationChange.changed_at.desc(),
            InvitationChange.id.desc(),
        )
    )


async def invited_agencies(session: AsyncSession, reference: str) -> set[UUID]:
    """The agencies invited to a case now (for deciding what they receive)."""
    rows = (await session.scalars(_latest_changes(reference))).all()
    return {row.agency_id for row in rows if row.invited}


def invited_read(references: Iterable[str]) -> ScalarSelect[Any]:
    """The change in force for each agency of each of these cases, as one read of a
    batch's (`reads.read_together`)."""
    return json_rows(
        select(
            InvitationChange.case_reference,
            InvitationChange.agency_id,
            InvitationChange.invited,
        )
        .where(InvitationChange.case_reference.in_(sorted(set(references))))
        .ext(distinct_on(InvitationChange.case_reference, InvitationChange.agency_id))
        .order_by(
            InvitationChange.case_reference,
            InvitationChange.agency_id,
            InvitationChange.changed_at.desc(),
            InvitationChange.id.desc(),
        )
    )


def invited_from(rows: Rows) -> dict[str, set[UUID]]:
    """The agencies invited now to each case, from that read."""
    invited: dict[str, set[UUID]] = {}
    for row in rows:
        if row["invited"]:
            invited.setdefault(row["case_reference"], set()).add(uuid_of(row["agency_id"]))
    return invited


async def list_invitations(
    session: AsyncSession, *, principal: Principal, reference: str
) -> Sequence[InvitationChange]:
    case = await get_case(session, principal, reference)
    rows = (await session.scalars(_latest_changes(case.reference))).all()
    return [row for row in rows if row.invited]


async def invite(
    session: AsyncSession, *, principal: Principal, reference: str, agency_id: UUID, reason: str
) -> tuple[InvitationChange, bool]:
    """Invite an active agency of the case's area; (the invitation, whether it is new)."""
    case = await get_case(session, principal, reference, for_update=True)
    agency = await session.get(Agency, agency_id)
    if agency is None or agency.area_id != case.area_id or not agency.active:
        raise Unprocessable("agency_id", "not an active agency of the case's area")
    if agency.id == case.recorder_agency_id:
        raise Unprocessable("agency_id", "the agency that recorded the case has it already")
    current = await _current(session, case.reference, agency.id)
    if current is not None and current.invited:
        return current, False
    return await _change(session, principal, case, agency.id, invited=True, reason=reason), True


async def remove(
    session: AsyncSession, *, principal: Principal, reference: str, agency_id: UUID, reason: str
) -> InvitationChange:
    """End an agency's invitation: later events of the case no longer reach it as invited
    (what it received stays received)."""
    case = await get_case(session, principal, reference, for_update=True)
    current = await _current(session, case.reference, agency_id)
    if current is None or not current.invited:
        raise InvitationNotFound(f"agency {agency_id} is not invited to {reference}")
    return await _change(session, principal, case, agency_id, invited=False, reason=reason)


async def _current(
    session: AsyncSession, reference: str, agency_id: UUID
) -> InvitationChange | None:
    statement = _latest_changes(reference).where(InvitationChange.agency_id == agency_id)
    return await session.scalar(statement)


async def _change(
    session: AsyncSession,
    principal: Principal,
    case: CaseIndex,
    agency_id: UUID,
    *,
    invited: bool,
    reason: str,
) -> InvitationChange:
    row = InvitationChange(
        id=new_id(),
        case_reference=case.reference,
        area_id=case.area_id,
        agency_id=agency_id,
        invited=invited,
        reason=reason,
        changed_by_client=principal.client_id,
        changed_by_subject=principal.subject,
        changed_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    outbox.add(
        session,
        InvitationChanged(
            case_reference=row.case_reference,
            agency_id=row.agency_id,
            invited=row.invited,
            reason=row.reason,
            changed_at=row.changed_at,
        ),
        area_id=case.area_id,
        aggregate_id=case.reference,
    )
    return row
