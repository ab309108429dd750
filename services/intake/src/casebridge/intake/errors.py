"""Intake's business-rule errors (rendered by the common handler as {"error", "detail"})."""

from __future__ import annotations

from casebridge.common.errors import AppError, Conflict, NotFound


class AreaNotConfigured(Conflict):
    code = "area_not_configured"


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"


class PersonNotFound(NotFound):
    code = "person_not_found"


class MatchUncertain(Conflict):
    """The complainant may be one of several logs; the handler must choose."""

    code = "person_match_uncertain"


class CannotMergeIntoItself(Conflict):
    code = "cannot_merge_into_itself"


class NotReceivingAgency(NotFound):
    """Only the receiving agency may change consent or record an override. A 404, not a
    403, so another agency cannot learn which complaints exist."""

    code = "complaint_not_found"


class AlreadyInIncident(Conflict):
    code = "already_in_incident"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class TooManyReferences(Conflict):
    code = "too_many_references"


class InvalidAnswers(AppError):
    """Answers that do not fit the area's question set: a request validation error."""

    status_code = 422
    code = "validation_error"


class UnknownLandlord(AppError):
    """A perpetrator's landlord that is not a registered agency of the caller's area."""

    status_code = 422
    code = "validation_error"


class UnknownAgency(AppError):
    """A reference for an agency the area does not have: a request validation error."""

    status_code = 422
    code = "validation_error"
