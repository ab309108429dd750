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
from casebridge.common.schemas import Limit
from casebridge.review import applications, escalation, letters, stages, threshold, workflow
from casebridge.review.models import CaseReview, ReviewDeadline, ReviewLetter, ReviewTransition
from casebridge.review.routes.common import CanRead, CanVote, CanWrite, parse_cursor
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


def read(review: CaseReview) -> ReviewRead:
    body = ReviewRead.model_validate(review)
    body.allowed_actions = workflow.allowed_actions(review.state)
    return body


@router.post("", status_code=201, response_model=ReviewRead)
async def apply(data: ReviewApply, session: DbSession, who: CanWrite) -> ReviewRead:
    """Receive an application (never anonymous); complaints are listed or found. The receipt
    date may be back-dated (bounded by the area, with a reason): every deadline runs from it."""
    return read(await applications.apply_for_review(session, principal=who, data=data))


@router.get("", response_model=ReviewPage)
async def list_reviews(
    session: DbSession,
    who: CanRead,
    state: ReviewState | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
) -> ReviewPage:
    items, after = await workflow.list_reviews(
        session, principal=who, state=state, cursor=parse_cursor(cursor), limit=limit
    )
    return ReviewPage(items=[read(r) for r in items], next_cursor=after.encode() if after else None)


@router.get("/{reference}", response_model=ReviewRead)
async def get_review(reference: Reference, session: DbSession, who: CanRead) -> ReviewRead:
    return read(await workflow.get_review(session, principal=who, reference=reference))


@router.get("/{reference}/status", response_model=ReviewStatus)
async def status(reference: Reference, session: DbSession, who: CanRead) -> dict[str, Any]:
    """The applicant's view: stage, next deadline, the SPOC's contact."""
    return await stages.status(session, principal=who, reference=reference)


@router.get(
    "/{reference}/counting",
    response_model=CountingRead,
    responses={409: {"description": "not_caught_up: review has not applied the change yet"}},
)
async def counting(
    reference: Reference,
    session: DbSession,
    who: CanRead,
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
        principal=who,
        reference=reference,
        not_older_than=not_older_than,
        changed=complaint_id,
    )


@router.post("/{reference}/behaviour", response_model=ReviewRead)
async def change_behaviour(
    reference: Reference, data: BehaviourChange, session: DbSession, who: CanWrite
) -> ReviewRead:
    """The SPOC names the behaviour the application concerns (before the decision)."""
    review = await applications.change_behaviour(
        session, principal=who, reference=reference, data=data
    )
    return read(review)


@router.get("/{reference}/history", response_model=list[TransitionRead])
async def history(reference: Reference, session: DbSession, who: CanRead) -> list[ReviewTransition]:
    return await workflow.history(session, principal=who, reference=reference)


@router.get("/{reference}/deadlines", response_model=list[DeadlineRead])
async def deadlines(reference: Reference, session: DbSession, who: CanRead) -> list[ReviewDeadline]:
    review = await workflow.get_review(session, principal=who, reference=reference)
    query = select(ReviewDeadline).where(ReviewDeadline.review_id == review.id)
    return list(await session.scalars(query.order_by(ReviewDeadline.due_on)))


@router.get("/{reference}/letters", response_model=list[LetterRead])
async def list_letters(
    reference: Reference, session: DbSession, who: CanRead
) -> list[ReviewLetter]:
    review = await workflow.get_review(session, principal=who, reference=reference)
    return await letters.list_letters(session, review)


@router.get("/{reference}/letters/{letter_id}", response_class=HTMLResponse)
async def get_letter(
    reference: Reference, letter_id: UUID, session: DbSession, who: CanRead
) -> HTMLResponse:
    """The letter as sent (HTML)."""
    review = await workflow.get_review(session, principal=who, reference=reference)
    letter = await letters.get_letter(session, review, letter_id)
    return HTMLResponse(letter.html)


@router.get(
    "/{reference}/letters/{letter_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the letter as PDF"}},
)
async def get_letter_pdf(
    reference: Reference, letter_id: UUID, session: DbSession, who: CanRead
) -> Response:
    """The letter as sent, as an A4 PDF for the post and the case file."""
    review = await workflow.get_review(session, principal=who, reference=reference)
    letter = await letters.get_letter(session, review, letter_id)
    pdf = letters.to_pdf(letter.html, title=f"{review.reference} {letter.kind}")
    name = f"{review.reference}-{letter.kind}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.post("/{reference}/acknowledge", response_model=ReviewRead)
async def acknowledge(reference: Reference, session: DbSession, who: CanWrite) -> ReviewRead:
    return read(await stages.acknowledge(session, principal=who, reference=reference))


@router.post("/{reference}/votes", response_model=ReviewRead)
async def vote(
    reference: Reference, data: VoteCreate, session: DbSession, who: CanVote
) -> ReviewRead:
    """A core partner's vote on the threshold, or its abstention with a reason; the area's
    majority rule decides over the votes cast."""
    return read(await threshold.vote(session, principal=who, reference=reference, data=data))


@router.post("/{reference}/threshold", response_model=ReviewRead)
async def spoc_decision(
    reference: Reference, data: SpocDecision, session: DbSession, who: CanWrite
) -> ReviewRead:
    """The SPOC decides the threshold when abstentions leave the panel without a quorum."""
    review = await threshold.spoc_decision(session, principal=who, reference=reference, data=data)
    return read(review)


@router.post("/{reference}/meeting", response_model=ReviewRead)
async def schedule_meeting(
    reference: Reference, data: MeetingSchedule, session: DbSession, who: CanWrite
) -> ReviewRead:
    return read(
        await stages.schedule_meeting(session, principal=who, reference=reference, data=data)
    )


@router.post("/{reference}/meeting/held", response_model=ReviewRead)
async def hold_meeting(
    reference: Reference, data: MeetingHeld, session: DbSession, who: CanWrite
) -> ReviewRead:
    return read(await stages.hold_meeting(session, principal=who, reference=reference, data=data))


@router.post("/{reference}/action-plan", response_model=ReviewRead)
async def agree_action_plan(
    reference: Reference, data: ActionPlanCreate, session: DbSession, who: CanWrite
) -> ReviewRead:
    return read(
        await stages.agree_action_plan(session, principal=who, reference=reference, data=data)
    )


@router.post("/{reference}/outcome", response_model=ReviewRead)
async def communicate_outcome(
    reference: Reference, data: Outcome, session: DbSession, who: CanWrite
) -> ReviewRead:
    return read(
        await stages.communicate_outcome(session, principal=who, reference=reference, data=data)
    )


@router.post("/{reference}/accept", response_model=ReviewRead)
async def accept(reference: Reference, session: DbSession, who: CanWrite) -> ReviewRead:
    return read(await stages.accept(session, principal=who, reference=reference))


@router.post("/{reference}/escalate", response_model=ReviewRead)
async def escalate(
    reference: Reference, data: Escalation, session: DbSession, who: CanWrite
) -> ReviewRead:
    """The applicant asks the area's escalation body to look again at a "not met" decision
    or at the outcome, within the area's window (409 after it)."""
    return read(await escalation.escalate(session, principal=who, reference=reference, data=data))


@router.post("/{reference}/escalation/decision", response_model=ReviewRead)
async def decide_escalation(
    reference: Reference, data: EscalationDecision, session: DbSession, who: CanWrite
) -> ReviewRead:
    """The escalation body's decision; upholding a "not met" request re-decides it as met."""
    review = await escalation.decide_escalation(
        session, principal=who, reference=reference, data=data
    )
    return read(review)


@router.post("/{reference}/close", response_model=ReviewRead)
async def close(
    reference: Reference, data: Closure, session: DbSession, who: CanWrite
) -> ReviewRead:
    return read(await stages.close(session, principal=who, reference=reference, data=data))
