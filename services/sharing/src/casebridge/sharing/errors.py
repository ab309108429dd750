"""Sharing's business-rule errors that are about the request's content (422, in the same
shape as request validation: `[{"field", "reason"}]`)."""

from __future__ import annotations

from casebridge.common.errors import AppError


class Unprocessable(AppError):
    """The request is well-formed but names something it may not (an agency of another
    area, a webhook on a private address): 422 with the field and the reason."""

    status_code = 422
    code = "validation_error"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__([{"field": field, "reason": reason}])


class InvalidProtocol(AppError):
    """A protocol document that cannot be published: every problem with its path."""

    status_code = 422
    code = "invalid_protocol"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__([{"field": path, "reason": reason} for path, reason in problems])


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "unsupported_media_type"
