"""Letters to the applicant, rendered from the area's Jinja2 templates (HTML, autoescaped).

An area may replace any template in its procedure; those run in Jinja2's sandbox, since
they are data, not code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.contracts.review import LetterIssued
from casebridge.common.errors import NotFound
from casebridge.common.events import outbox
from casebridge.review.config import AreaRules
from casebridge.review.deadlines import local_date
from casebridge.review.models import CaseReview, ReviewDeadline, ReviewLetter

_ENV = SandboxedEnvironment(
    loader=PackageLoader("casebridge.review", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
)


def render(kind: str, rules: AreaRules, context: dict[str, Any]) -> str:
    """The area's own template when it has one, else the default."""
    override = rules.letters.get(kind)
    template = _ENV.from_string(override) if override else _ENV.get_template(f"{kind}.html")
    return template.render(area=rules, **context)


async def issue_letter(
    session: AsyncSession, review: CaseReview, kind: str, *, rules: AreaRules, at: datetime
) -> ReviewLetter:
    """Render, store with the review, and announce the letter (no content in the event)."""
    deadlines = list(
        await session.scalars(
            select(ReviewDeadline)
            .where(ReviewDeadline.review_id == review.id, ReviewDeadline.met_at.is_(None))
            .order_by(ReviewDeadline.due_on)
        )
    )
    html = render(
        kind,
        rules,
        {"review": review, "today": local_date(at), "open_deadlines": deadlines},
    )
    letter = ReviewLetter(review_id=review.id, kind=kind, html=html, created_at=at)
    session.add(letter)
    await session.flush()
    event = LetterIssued(
        review_id=review.id,
        reference=review.reference,
        letter_id=letter.id,
        kind=kind,
        issued_at=at,
    )
    outbox.add(session, event, area_id=review.area_id, aggregate_id=review.id)
    return letter


async def list_letters(session: AsyncSession, review: CaseReview) -> list[ReviewLetter]:
    return list(
        await session.scalars(
            select(ReviewLetter)
            .where(ReviewLetter.review_id == review.id)
            .order_by(ReviewLetter.created_at, ReviewLetter.id)
        )
    )


async def get_letter(session: AsyncSession, review: CaseReview, letter_id: Any) -> ReviewLetter:
    letter = await session.scalar(
        select(ReviewLetter).where(
            ReviewLetter.review_id == review.id, ReviewLetter.id == letter_id
        )
    )
    if letter is None:
        raise NotFound("letter not found")
    return letter
