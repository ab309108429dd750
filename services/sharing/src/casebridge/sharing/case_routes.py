"""Inviting an agency to one case (a complaint or a case review, by its reference), and
ending the invitation: the partnership administrator for any case of its area, the SPOC
for a case review. Partners answering: what an agency that can see a case did about it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from casebridge.common.auth import Principal, Scoped
from casebridge.common.db import DbSession
from casebridge.sharing import cases, updates
from casebridge.sharing.models import InvitationChange, PartnerUpdate
from casebridge.sharing.schemas import (
    InvitationCreate,
    InvitationRead,
    PartnerUpdateCreate,
    PartnerUpdateRead,
)

router = APIRouter(tags=["cases"])

# Either role may ask; the case's kind decides (cases.check_may_invite): an administrator
# holds shares:admin as well; a SPOC needs only shares:read beside its role.
CanInvite = Annotated[Principal, Scoped("shares:read", role=("partnership_admin", "spoc"))]
# What a partner did about a case is recorded by whoever works the agency's cases.
CanUpdateCases = Annotated[Principal, Scoped("cases:write", role="case_officer")]
Reference = Annotated[
    str,
    Path(
        pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$",
        description="a complaint's reference (DMO-2026-000001-7) or a case review's "
        "(CR-DMO-2026-000001)",
    ),
]
RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "neither the administrator nor (for a case review) the SPOC"},
    404: {"description": "no such case in the caller's area"},
}


@router.get(
    "/cases/{reference}/invitations", response_model=list[InvitationRead], responses=RESPONSES
)
async def list_invitations(
    reference: Reference, session: DbSession, who: CanInvite
) -> Sequence[InvitationChange]:
    """The agencies invited to the case now."""
    return await cases.list_invitations(session, principal=who, reference=reference)


@router.post(
    "/cases/{reference}/invitations",
    status_code=201,
    response_model=InvitationRead,
    responses={
        **RESPONSES,
        200: {"description": "the agency was invited already"},
        422: {"description": "not an active agency of the case's area, or its recorder"},
    },
)
async def invite(
    reference: Reference,
    data: InvitationCreate,
    response: Response,
    session: DbSession,
    who: CanInvite,
) -> InvitationChange:
    """Invite an agency of the area to the case: it then receives the case's events as an
    invited partner, as the protocol grants."""
    invitation, created = await cases.invite(
        session, principal=who, reference=reference, agency_id=data.agency_id, reason=data.reason
    )
    response.status_code = 201 if created else 200
    return invitation


@router.delete(
    "/cases/{reference}/invitations/{agency_id}",
    status_code=204,
    responses={**RESPONSES, 404: {"description": "no such case, or the agency is not invited"}},
)
async def remove(
    reference: Reference,
    agency_id: UUID,
    session: DbSession,
    who: CanInvite,
    reason: Annotated[
        str, Query(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]+$")
    ] = "invitation ended",
) -> Response:
    """End the agency's invitation to the case."""
    await cases.remove(
        session, principal=who, reference=reference, agency_id=agency_id, reason=reason
    )
    return Response(status_code=204)


@router.post(
    "/cases/{reference}/updates",
    status_code=201,
    response_model=PartnerUpdateRead,
    responses={
        404: {"description": "no such case in the caller's area, or not one it can see"},
        422: {"description": "each field refused and the reason"},
    },
)
async def record_update(
    reference: Reference, data: PartnerUpdateCreate, session: DbSession, who: CanUpdateCases
) -> PartnerUpdate:
    """Record what the caller's agency did about a case it can see: shared onward with the
    case's other partners as the protocol grants, and shown in the case's timeline."""
    return await updates.record_update(session, principal=who, reference=reference, data=data)
