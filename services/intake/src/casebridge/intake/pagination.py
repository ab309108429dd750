"""Opaque keyset cursors: (timestamp, id) of the last row, newest first."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from uuid import UUID

from casebridge.common.errors import AppError


class BadCursor(AppError):
    status_code = 422
    code = "validation_error"

    def __init__(self) -> None:
        super().__init__([{"field": "query.cursor", "reason": "is not a cursor from this list"}])


def encode(at: datetime, row_id: UUID) -> str:
    raw = json.dumps([at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        return datetime.fromisoformat(at), UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise BadCursor from exc
