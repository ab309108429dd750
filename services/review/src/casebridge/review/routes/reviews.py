"""ASB case reviews: the application, each stage's action, history, letters, status."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import AwareDatetime
from sqlalchemy import select

from casebridge.common.db import DbSession
from casebridge.common.isp import Viewer
from casebridge.common.schemas import Limit
from casebridge.review import applications, escalation, letters, stages, threshold, workflow
from casebridge.review.models import CaseReview, ReviewDeadline, ReviewLetter, ReviewTransition
from casebridge.review.presenters import present_review, shared_response
from casebridge.review.routes.common import Reads, SpocSteps, Votes, Writes, parse_cursor
from casebridge.review.schemas import (
    ActionPlanCreate,
    BehaviourChange,
    Closure,
    CountingRead,
    DeadlineRead,
    Escalation,
    EscalationDecision,
    LetterRead,
    MeetingHeld,
    MeetingSchedule,
    Outcome,
    ReviewApply,
    ReviewPage,
    ReviewRead,
    ReviewState,
    ReviewStatus,
    SpocDecision,
    TransitionRead,
    VoteCreate,
)

router = APIRouter(prefix="/reviews", tags=["case reviews"])

Reference = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Z0-9-]+$")]


async def read(session: DbSession, viewer: Viewer, review: CaseReview) -> Response:
    """The review as the caller may see it (the information-sharing protocol decides)."""
    seen = await workflow.see_review(session, viewer, review)
    return shared_response(await present_review(session, viewer, seen))


async def _seen(session: DbSession, viewer: Viewer, reference: str, part: str) -> CaseReview:
    """A review whose `part` (history, deadlines, letters) the caller may see; else 404."""
    seen = await workflow.read_review(session, viewer=viewer, reference=reference)
    return workflow.shown_part(seen, part)


@router.post(
    "",
    status_code=201,
    response_model=ReviewRead,
    responses={
        404: {"description": "person_not_found: no complaint log with that id is known to "
              "the caller's agency (unknown, another area's, or one it may not know)"}
    },
)  # fmt: skip
async def apply(data: ReviewApply, session: DbSession, who: Writes) -> Response:
    """Receive an application (never anonymous); complaints are listed or found. The receipt
    date may be back-dated (bounded by the area, with a reason): every deadline runs from it."""
    review = await applications.apply_for_review(session, viewer=who, data=data)
    response = await read(session, who, review)
    response.status_code = 201
    return response


@router.get("", response_model=ReviewPage, response_model_exclude_unset=True)
async def list_reviews(
    session: DbSession,
    who: Reads,
    state: ReviewState | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
) -> ReviewPage:
    items, after = await workflow.list_reviews(
        session, viewer=who, state=state, cursor=parse_cursor(cursor), limit=limit
    )
    return ReviewPage(
        items=[await present_review(session, who, seen) for seen in items],
        next_cursor=after.encode() if after else None,
    )


@router.get("/{reference}", response_model=ReviewRead, response_model_exclude_unset=True)
async def get_review(reference: Reference, session: DbSession, who: Reads) -> ReviewRead:
    seen = await workflow.read_review(session, viewer=who, reference=reference)
    return await present_review(session, who, seen)


@router.get("/{reference}/status", response_model=ReviewStatus)
async def status(reference: Reference, session: DbSession, who: Reads) -> dict[str, Any]:
    """The applicant's view: stage, next deadline, the SPOC's contact."""
    await _seen(session, who, reference, "state")
    return await stages.status(session, viewer=who, reference=reference)


@router.get(
    "/{reference}/counting",
    response_model=CountingRead,
    responses={409: {"description": "not_caught_up: review has not applied the change yet"}},
)
async def counting(
    reference: Reference,
    session: DbSession,
    who: Reads,
    not_older_than: AwareDatetime | None = None,
    complaint_id: Annotated[list[UUID] | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Each complaint considered, the behaviour it is about, and whether and why it counts;
    as the decision counted it once decided. `not_older_than` with `complaint_id`s: answer
    only once review has applied intake's changes to them up to that time (else 409 with
    Retry-After), e.g. the `updated_at` intake returned for a link."""
    if not_older_than is not None and not complaint_id:
        raise RequestValidationError(
            [{"loc": ("query", "complaint_id"), "msg": "name the complaints not_older_than is for"}]
        )
    return await threshold.read_counting(
        session,
        viewer=who,
        reference=reference,
        not_older_than=not_older_than,
        changed=complaint_id,
    )


@router.post("/{reference}/behaviour", response_model=ReviewRead)
async def change_behaviour(
    reference: Reference, data: BehaviourChange, session: DbSession, who: SpocSteps
) -> Response:
    """The SPOC names the behaviour the application concerns (before the decision)."""
    review = await applications.change_behaviour(
        session, viewer=who, reference=reference, data=data
    )
    return await read(session, who, review)


@router.get("/{reference}/history", response_model=list[TransitionRead])
async def history(reference: Reference, session: DbSession, who: Reads) -> list[ReviewTransition]:
    return await workflow.history(session, viewer=who, reference=reference)


@router.get("/{reference}/deadlines", response_model=list[DeadlineRead])
async def deadlines(reference: Reference, session: DbSession, who: Reads) -> list[ReviewDeadline]:
    review = await _seen(session, who, reference, "deadlines")
    query = select(ReviewDeadline).where(ReviewDeadline.review_id == review.id)
    return list(await session.scalars(query.order_by(ReviewDeadline.due_on)))


@router.get("/{reference}/letters", response_model=list[LetterRead])
async def list_letters(reference: Reference, session: DbSession, who: Reads) -> list[ReviewLetter]:
    review = await _seen(session, who, reference, "letters")
    return await letters.list_letters(session, review)


@router.get("/{reference}/letters/{letter_id}", response_class=HTMLResponse)
async def get_letter(
    reference: Reference, letter_id: UUID, session: DbSession, who: Reads
) -> HTMLResponse:
    """The letter as sent (HTML)."""
    review = await _seen(session, who, reference, "letters")
    letter = await letters.get_letter(session, review, letter_id)
    return HTMLResponse(letter.html)


@router.get(
    "/{reference}/letters/{letter_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the letter as PDF"}},
)
async def get_letter_pdf(
    reference: Reference, letter_id: UUID, session: DbSession, who: Reads
) -> Response:
    """The letter as sent, as an A4 PDF for the post and the case file."""
    review = await _seen(session, who, reference, "letters")
    letter = await letters.get_letter(session, review, letter_id)
    pdf = letters.to_pdf(letter.html, title=f"{review.reference} {letter.kind}")
    name = f"{review.reference}-{letter.kind}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.post("/{reference}/acknowledge", response_model=ReviewRead)
async def acknowledge(reference: Reference, session: DbSession, who: SpocSteps) -> Response:
    """Acknowledge the application; the answer carries the applicant's access code, once."""
    review, code = await stages.acknowledge(session, viewer=who, reference=reference)
    shown = await present_review(session, who, await workflow.see_review(session, who, review))
    shown.access_code = code
    return shared_response(shown)


@router.post("/{reference}/votes", response_model=ReviewRead)
async def vote(reference: Reference, data: VoteCreate, session: DbSession, who: Votes) -> Response:
    """A core partner's vote on the threshold, or its abstention with a reason; the area's
    majority rule decides over the votes cast."""
    return await read(
        session, who, await threshold.vote(session, viewer=who, reference=reference, data=data)
    )


@router.post("/{reference}/threshold", response_model=ReviewRead)
async def spoc_decision(
    reference: Reference, data: SpocDecision, session: DbSession, who: SpocSteps
) -> Response:
    """The SPOC decides the threshold when abstentions leave the panel without a quorum."""
    review = await threshold.spoc_decision(session, viewer=who, reference=reference, data=data)
    return await read(session, who, review)


@router.post("/{reference}/meeting", response_model=ReviewRead)
async def schedule_meeting(
    reference: Reference, data: MeetingSchedule, session: DbSession, who: SpocSteps
) -> Response:
    return await read(
        session,
        who,
        await stages.schedule_meeting(session, viewer=who, reference=reference, data=data),
    )


@router.post("/{reference}/meeting/held", response_model=ReviewRead)
async def hold_meeting(
    reference: Reference, data: MeetingHeld, session: DbSession, who: SpocSteps
) -> Response:
    return await read(
        session, who, await stages.hold_meeting(session, viewer=who, reference=reference, data=data)
    )


@router.post("/{reference}/action-plan", response_model=ReviewRead)
async def agree_action_plan(
    reference: Reference, data: ActionPlanCreate, session: DbSession, who: SpocSteps
) -> Response:
    return await read(
        session,
        who,
        await stages.agree_action_plan(session, viewer=who, reference=reference, data=data),
    )


@router.post("/{reference}/outcome", response_model=ReviewRead)
async def communicate_outcome(
    reference: Reference, data: Outcome, session: DbSession, who: SpocSteps
) -> Response:
    return await read(
        session,
        who,
        await stages.communicate_outcome(session, viewer=who, reference=reference, data=data),
    )


@router.post("/{reference}/accept", response_model=ReviewRead)
async def accept(reference: Reference, session: DbSession, who: SpocSteps) -> Response:
    return await read(session, who, await stages.accept(session, viewer=who, reference=reference))


@router.post("/{reference}/escalate", response_model=ReviewRead)
async def escalate(
    reference: Reference, data: Escalation, session: DbSession, who: SpocSteps
) -> Response:
    """The applicant asks the area's escalation body to look again at a "not met" decision
    or at the outcome, within the area's window (409 after it)."""
    return await read(
        session, who, await escalation.escalate(session, viewer=who, reference=reference, data=data)
    )


@router.post("/{reference}/escalation/decision", response_model=ReviewRead)
async def decide_escalation(
    reference: Reference, data: EscalationDecision, session: DbSession, who: SpocSteps
) -> Response:
    """The escalation body's decision; upholding a "not met" request re-decides it as met."""
    review = await escalation.decide_escalation(session, viewer=who, reference=reference, data=data)
    return await read(session, who, review)


@router.post("/{reference}/close", response_model=ReviewRead)
async def close(
    reference: Reference, data: Closure, session: DbSession, who: SpocSteps
) -> Response:
    return await read(
        session, who, await stages.close(session, viewer=who, reference=reference, data=data)
    )
