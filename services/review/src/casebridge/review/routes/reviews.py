"""ASB case reviews: the application, each stage's action, history, letters, status."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from casebridge.common.db import DbSession
from casebridge.common.schemas import Limit
from casebridge.review import letters, stages, threshold, workflow
from casebridge.review.models import CaseReview, ReviewDeadline, ReviewLetter, ReviewTransition
from casebridge.review.routes.common import CanRead, CanVote, CanWrite, parse_cursor
from casebridge.review.schemas import (
    ActionPlanCreate,
    Closure,
    DeadlineRead,
    Escalation,
    LetterRead,
    MeetingHeld,
    MeetingSchedule,
    Outcome,
    ReviewApply,
    ReviewPage,
    ReviewRead,
    ReviewState,
    ReviewStatus,
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
    """Receive an application (never anonymous); complaints are listed or found."""
    return read(await workflow.apply_for_review(session, principal=who, data=data))


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


@router.post("/{reference}/acknowledge", response_model=ReviewRead)
async def acknowledge(reference: Reference, session: DbSession, who: CanWrite) -> ReviewRead:
    return read(await stages.acknowledge(session, principal=who, reference=reference))


@router.post("/{reference}/votes", response_model=ReviewRead)
async def vote(
    reference: Reference, data: VoteCreate, session: DbSession, who: CanVote
) -> ReviewRead:
    """A core partner's vote on the threshold; the area's majority rule decides."""
    return read(await threshold.vote(session, principal=who, reference=reference, data=data))


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
    return read(await stages.escalate(session, principal=who, reference=reference, data=data))


@router.post("/{reference}/close", response_model=ReviewRead)
async def close(
    reference: Reference, data: Closure, session: DbSession, who: CanWrite
) -> ReviewRead:
    return read(await stages.close(session, principal=who, reference=reference, data=data))
