"""The applicant's own view of their review (with its reference and access code, no token)
and the SPOC's re-issue of the code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request

from casebridge.common.db import DbSession
from casebridge.review import applicant
from casebridge.review.routes.common import SpocSteps
from casebridge.review.schemas import AccessCodeIssued, ApplicantView

router = APIRouter(tags=["applicant"])

ACCESS_CODE_HEADER = "Casebridge-Access-Code"
# Public by design: the reference and the access code are the applicant's credentials.
PUBLIC_PATHS = frozenset({"/applicant/reviews/{reference}"})

Reference = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Z0-9-]+$")]
AccessCode = Annotated[
    str | None,
    Header(
        alias=ACCESS_CODE_HEADER,
        max_length=40,
        description="the access code from the acknowledgement letter (XXXX-XXXX-XXXX)",
    ),
]


@router.get(
    "/applicant/reviews/{reference}",
    response_model=ApplicantView,
    responses={
        404: {"description": "no review with that reference and access code"},
        429: {"description": "too many failed tries for this reference or source; see "
              "Retry-After"},
    },
)  # fmt: skip
async def applicant_view(
    reference: Reference, request: Request, code: AccessCode = None
) -> dict[str, Any]:
    """The applicant's own review: stage, next deadline, the SPOC's contact, the decision and
    its reasons in plain English; nothing about anyone else."""
    settings = request.app.state.settings
    limits = applicant.Limits(
        settings.applicant_tries_per_reference,
        settings.applicant_tries_per_source,
        settings.applicant_window_seconds,
    )
    source = request.client.host if request.client else "unknown"
    return await applicant.view(
        request.app.state.sessionmaker, reference=reference, code=code, source=source, limits=limits
    )


@router.post(
    "/reviews/{reference}/access-code",
    status_code=201,
    response_model=AccessCodeIssued,
    responses={
        403: {"description": "only the area's SPOC agency issues access codes"},
        409: {"description": "the application is not acknowledged yet"},
    },
)
async def reissue_access_code(
    reference: Reference, session: DbSession, who: SpocSteps
) -> applicant.Reissued:
    """A new access code for the applicant (shown this once), with a letter; the old code
    stops working at once."""
    return await applicant.reissue_code(session, viewer=who, reference=reference)
