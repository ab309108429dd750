"""Partners answer: an agency that can see a case records what it did about it (the action,
a note, the outcome, the next step and when it is due). The update is announced
(PartnerUpdateRecorded), shared onward under the protocol's `partner_update` rules by the
worker, and shown in the case's timeline at intake.

Who may post: the agency that recorded the case, and an agency the protocol lets see it
(it received something of the case, or it is invited and the protocol grants the invited
something of the case); anyone else gets the same 404 as for a case that does not exist.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.contracts.sharing import PartnerUpdateRecorded
from casebridge.common.db import new_id, utcnow
from casebridge.common.events import outbox
from casebridge.common.isp.decide import Basis, Recipient, decide, relations_of
from casebridge.common.isp.directory import today
from casebridge.sharing import cases, protocol
from casebridge.sharing.models import Agency, CaseIndex, Disclosure, PartnerUpdate
from casebridge.sharing.schemas import PartnerUpdateCreate
from casebridge.sharing.visibility import visible_cases


async def record_update(
    session: AsyncSession, *, principal: Principal, reference: str, data: PartnerUpdateCreate
) -> PartnerUpdate:
    """Keep the caller's update on a case it can see, and announce it."""
    case = await session.scalar(visible_cases(principal).where(CaseIndex.reference == reference))
    if case is None or not await may_see(session, principal, case):
        raise cases.CaseNotFound(f"no case {reference} in your area")
    update = PartnerUpdate(
        id=new_id(),
        case_reference=case.reference,
        area_id=case.area_id,
        agency_id=principal.agency_id,
        action=data.action.value,
        note=data.note,
        outcome=data.outcome.value,
        next_step=data.next_step,
        due_on=data.due_on,
        recorded_at=utcnow(),
        recorded_by_client=principal.client_id,
        recorded_by_subject=principal.subject,
    )
    session.add(update)
    await session.flush()
    outbox.add(session, _recorded(update, case), area_id=case.area_id, aggregate_id=update.id)
    return update


async def may_see(session: AsyncSession, principal: Principal, case: CaseIndex) -> bool:
    """The recorder; an agency the case was disclosed to; an invited agency the protocol
    grants something of the case."""
    if principal.agency_id == case.recorder_agency_id:
        return True
    agency = await session.get(Agency, principal.agency_id)
    if agency is None or not agency.active or agency.area_id != case.area_id:
        return False
    disclosed = await session.scalar(
        select(Disclosure.id)
        .where(
            Disclosure.source_reference == case.reference,
            Disclosure.recipient_agency_id == agency.id,
            Disclosure.outcome == "delivered",
        )
        .limit(1)
    )
    if disclosed is not None:
        return True
    if agency.id not in await cases.invited_agencies(session, case.reference):
        return False
    recipient = Recipient(agency.id, agency.area_id, agency.kind, agency.core_partner, True)
    policy = await protocol.policy_in_force(session, case.area_id)
    relations = relations_of(recipient, invited=True)
    return decide(policy, case.kind, recipient, relations, Basis(), today=today()).visible


def _recorded(update: PartnerUpdate, case: CaseIndex) -> PartnerUpdateRecorded:
    return PartnerUpdateRecorded(
        update_id=update.id,
        case_reference=update.case_reference,
        case_kind=case.kind,
        case_id=case.case_id,
        area_id=update.area_id,
        agency_id=update.agency_id,
        action=update.action,
        note=update.note,
        outcome=update.outcome,
        next_step=update.next_step,
        due_on=update.due_on,
        recorded_at=update.recorded_at,
        person_id=case.person_id,
    )
