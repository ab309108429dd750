"""Back-dating a report: a complaint received earlier (a letter, a voicemail) is recorded with
the date it was made to the agency, because that date is what makes it qualify for an ASB
case review (s104(11)). Bounded per area and audited: never in the future, never before the
behaviour (both refused by the request schema), an earlier day than today only with a reason
and at most `max_days` back; older history comes in through an import, not the call-handling
API."""

from __future__ import annotations

from datetime import datetime

from casebridge.common.errors import AppError
from casebridge.common.periods import days_back
from casebridge.intake.config import BackdatingRule
from casebridge.intake.schemas.complaints import ComplaintCreate


class BackdatingRefused(AppError):
    """Shaped like a request validation error: the field and the reason."""

    status_code = 422
    code = "validation_error"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__([{"field": f"body.{field}", "reason": reason}])


def check(data: ComplaintCreate, rule: BackdatingRule, now: datetime) -> str | None:
    """The reason for a back-dated report; None when it is dated today (a reason given then is
    not kept: nothing was back-dated)."""
    reported_at = data.reported_at
    if reported_at is None:
        return None
    back = days_back(reported_at, now)
    if back <= 0:
        return None  # the same date: the date is what counts, nothing was back-dated
    if back > rule.max_days:
        raise BackdatingRefused(
            "reported_at",
            f"{back} days back; this area allows at most {rule.max_days} (older history comes "
            "in through an import, not this API)",
        )
    if not data.backdated_reason:
        raise BackdatingRefused(
            "backdated_reason", "a complaint dated an earlier day than today needs a reason"
        )
    return data.backdated_reason
