"""The applicant's own view of their case review (issue 15 item 3).

When the application is acknowledged the applicant is given its reference and an access
code (in the acknowledgement letter); with both, `GET /applicant/reviews/{reference}` shows
where the review has got to, in plain English, and nothing about anyone else.

- A code is 12 characters of Crockford's base 32 (60 random bits, `secrets`), written in
  three groups; only its argon2 hash is kept. The letter kept with the review shows it
  masked: the code itself is shown once, to the SPOC who issued it.
- Failed tries are counted per reference and per source address in the database (every
  replica shares them): `applicant_tries_per_reference` (or `_per_source`) failures within
  `applicant_window_seconds` and further tries get 429 with Retry-After until the window
  ends, even with the right code.
- A wrong code and an unknown reference are the same 404, after the same work (an argon2
  verification against a dummy hash, and a counted failure).
- The SPOC re-issues a code (`POST /reviews/{reference}/access-code`); the new hash replaces
  the old, so the old code stops working at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casebridge.common.db import utcnow
from casebridge.common.errors import AppError, Conflict, NotFound
from casebridge.common.isp import Viewer
from casebridge.common.periods import local_date
from casebridge.review import areas, deadlines, letters
from casebridge.review.config import AreaRules
from casebridge.review.models import (
    ApplicantAccess,
    ApplicantAttempt,
    CaseReview,
    ReviewDeadline,
    ReviewDecision,
)
from casebridge.review.visibility import principal_of
from casebridge.review.workflow import Actor, spoc_step

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_LENGTH = 12
MASK = "XXXX-XXXX-XXXX"
_LOOKALIKES = str.maketrans("OIL", "011")
# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): the code is 60 random bits and
# tries are rate-limited, so the hash need not be slow; the library's default (64 MiB, ~0.6 s
# on a loaded machine) would let a public route's callers spend the server's memory and CPU.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified when the reference is unknown, so a miss costs as long as a wrong code.
_DUMMY_HASH = _hasher.hash("0" * CODE_LENGTH)


class TooManyTries(AppError):
    status_code = 429
    code = "too_many_tries"


NOT_FOUND = "no case review with that reference and access code"


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise(code: str) -> str:
    """As typed from a letter: any case, spaces or hyphens, O for 0 and I or L for 1."""
    cleaned = code.upper().replace("-", "").replace(" ", "")
    return cleaned.translate(_LOOKALIKES)


def _verify(code_hash: str | None, code: str) -> bool:
    try:
        return bool(_hasher.verify(code_hash or _DUMMY_HASH, normalise(code))) and bool(code_hash)
    except (VerificationError, InvalidHashError):
        return False


async def issue_code(session: AsyncSession, review: CaseReview, *, actor: Actor) -> str:
    """A new code for the review's applicant; any earlier code stops working."""
    code = new_code()
    values = {
        "code_hash": _hasher.hash(normalise(code)),
        "issued_at": utcnow(),
        "issued_by": actor.subject,
    }
    statement = insert(ApplicantAccess).values(review_id=review.id, issue=1, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ApplicantAccess.review_id],
            set_={**values, "issue": ApplicantAccess.issue + 1},
        )
    )
    return code


@dataclass(frozen=True)
class Reissued:
    reference: str
    access_code: str
    issued_at: datetime
    letter_id: UUID


async def reissue_code(session: AsyncSession, *, viewer: Viewer, reference: str) -> Reissued:
    """The area's SPOC gives the applicant a new code (lost, or shared by mistake), with a
    letter; the old code stops working."""
    review = await spoc_step(session, viewer=viewer, reference=reference)
    if review.state == "received":
        raise Conflict("the application is not acknowledged yet: its code comes with that")
    now = utcnow()
    code = await issue_code(session, review, actor=Actor.of(principal_of(viewer)))
    rules = await areas.rules_for(session, review.area_id)
    letter = await letters.issue_letter(
        session, review, "access_code", rules=rules, at=now, access_code=MASK
    )
    return Reissued(review.reference, code, now, letter.id)


@dataclass(frozen=True)
class Limits:
    per_reference: int
    per_source: int
    window_seconds: float


async def view(
    sessions: async_sessionmaker[AsyncSession],
    *,
    reference: str,
    code: str | None,
    source: str,
    limits: Limits,
) -> dict[str, Any]:
    """What the applicant may be told, for the right reference and code; else 404 (the
    failure counted in a transaction of its own, so the 404 does not roll it back)."""
    keys = [f"ref:{reference}", f"src:{source}"]
    async with sessions() as session:
        await _refuse_if_locked(session, keys, limits)
        # One statement and one verification whether or not the reference exists.
        found = (
            await session.execute(
                select(CaseReview, ApplicantAccess.code_hash)
                .outerjoin(ApplicantAccess, ApplicantAccess.review_id == CaseReview.id)
                .where(CaseReview.reference == reference)
            )
        ).first()
        review, code_hash = found if found is not None else (None, None)
        right = _verify(code_hash, code or "")
        if review is None or not right:
            await _count_failure(session, keys, limits)
            await session.commit()
            raise NotFound(NOT_FOUND)
        return await _status(session, review)


async def _refuse_if_locked(session: AsyncSession, keys: list[str], limits: Limits) -> None:
    row = ApplicantAttempt
    window = timedelta(seconds=limits.window_seconds)
    found = (
        await session.execute(
            select(row.key, row.failures, row.window_started_at).where(
                row.key.in_(keys), row.window_started_at > func.now() - window
            )
        )
    ).all()
    now = utcnow()
    waits = [
        (started + window - now).total_seconds()
        for key, failures, started in found
        if failures >= (limits.per_reference if key.startswith("ref:") else limits.per_source)
    ]
    if waits:
        wait = max(1, int(max(waits)) + 1)
        raise TooManyTries(
            f"too many tries: try again in {wait} seconds", headers={"Retry-After": str(wait)}
        )


async def _count_failure(session: AsyncSession, keys: list[str], limits: Limits) -> None:
    """One upsert per key: a count whose window has passed starts again."""
    row = ApplicantAttempt
    window = timedelta(seconds=limits.window_seconds)
    stale = row.window_started_at <= func.now() - window
    for key in keys:
        await session.execute(
            insert(row)
            .values(key=key, failures=1, window_started_at=func.now())
            .on_conflict_do_update(
                index_elements=[row.key],
                set_={
                    "failures": case((stale, 1), else_=row.failures + 1),
                    "window_started_at": case((stale, func.now()), else_=row.window_started_at),
                },
            )
        )
    # Old counts are of no use: keep the table to the current window's.
    await session.execute(delete(row).where(row.window_started_at < func.now() - 2 * window))


STAGES = {
    "received": "We have received your application and will acknowledge it shortly.",
    "acknowledged": "We have acknowledged your application and are deciding whether the "
    "threshold for a case review is met.",
    "threshold_met": "The threshold for a case review is met. The partner agencies will meet "
    "to review the response to the behaviour you reported.",
    "threshold_not_met": "The threshold for a case review was not met.",
    "meeting_scheduled": "The partner agencies have arranged the case review meeting.",
    "meeting_held": "The case review meeting has taken place; the partner agencies are "
    "agreeing what happens next.",
    "action_plan_agreed": "The partner agencies have agreed an action plan; we will write to "
    "you with the outcome.",
    "outcome_communicated": "We have written to you with the outcome of the case review.",
    "accepted": "You have accepted the outcome of the case review.",
    "escalated": "You asked for the decision to be looked at again; it is being considered.",
    "escalation_decided": "Your request for the decision to be looked at again has been decided.",
    "closed": "Your case review is closed.",
}
DEADLINES = {
    "acknowledge": "acknowledging your application",
    "threshold_decision": "deciding whether the threshold is met",
    "meeting": "holding the case review meeting",
    "outcome": "telling you the outcome",
    "escalation_decision": "deciding on your request to look at the decision again",
}
DECIDED_BY = {
    "statutory": "The law decided it: enough qualifying complaints were made.",
    "panel": "The partner agencies' case review panel decided it by majority.",
    "spoc": "The single point of contact decided it, as the panel could not reach a quorum.",
    "escalation": "It was decided again on your request.",
}


async def _status(session: AsyncSession, review: CaseReview) -> dict[str, Any]:
    rules = await areas.rules_for(session, review.area_id)
    pending = await session.scalars(
        select(ReviewDeadline)
        .where(ReviewDeadline.review_id == review.id, ReviewDeadline.met_at.is_(None))
        .order_by(ReviewDeadline.due_on)
    )
    decision = await session.scalar(
        select(ReviewDecision)
        .where(ReviewDecision.review_id == review.id)
        .order_by(ReviewDecision.decided_at.desc())
        .limit(1)
    )
    return {
        "reference": review.reference,
        "stage": review.state,
        "stage_explained": STAGES.get(review.state, review.state.replace("_", " ")),
        "applied_on": local_date(review.applied_at),
        "next_deadline": _next_deadline(pending.first(), rules),
        "decision": _decision(decision, rules) if decision is not None else None,
        "outcome": review.outcome,
        "recommendations": review.recommendations or None,
        "spoc": rules.spoc.model_dump(exclude={"agency_id"}),
        "escalation_body": rules.escalation.body,
        "ombudsman": rules.ombudsman.name,
    }


def _next_deadline(deadline: ReviewDeadline | None, rules: AreaRules) -> dict[str, Any] | None:
    if deadline is None:
        return None
    today = local_date(utcnow())
    return {
        "stage": deadline.stage,
        "explained": f"We aim to finish {DEADLINES.get(deadline.stage, deadline.stage)} "
        f"by {deadline.due_on.day} {deadline.due_on.strftime('%B %Y')}.",
        "due_on": deadline.due_on,
        "working_days_left": _working_days(today, deadline.due_on, rules),
    }


def _working_days(today: date, due_on: date, rules: AreaRules) -> int:
    """Working days after today up to and including the due date (0: due today or past)."""
    day, left = today, 0
    while day < due_on:
        day += timedelta(days=1)
        left += deadlines.is_working_day(day, rules.calendar.subdivision)
    return left


def _decision(decision: ReviewDecision, rules: AreaRules) -> dict[str, Any]:
    """The decision in plain English, from its counts only: no complaint's reference, no
    partner's vote or note, nothing about anyone else."""
    counting = decision.counting
    counted, needed = counting.get("qualifying_incidents", 0), counting.get("threshold", 0)
    verdict = "is met" if decision.met else "is not met"
    reasons = [
        f"The threshold for a case review {verdict}.",
        DECIDED_BY.get(decision.decided_by, ""),
        f"{counted} qualifying complaint{'s' if counted != 1 else ''} about the behaviour your "
        f"application concerns {'were' if counted != 1 else 'was'} counted; {needed} "
        f"{'are' if needed != 1 else 'is'} needed for the threshold to be met by law.",
    ]
    if not decision.met:
        reasons.append(
            f"If you are dissatisfied with this decision, you may ask the "
            f"{rules.escalation.body} to look at it again."
        )
    return {
        "threshold_met": decision.met,
        "decided_on": local_date(decision.decided_at),
        "reasons": " ".join(r for r in reasons if r),
    }
