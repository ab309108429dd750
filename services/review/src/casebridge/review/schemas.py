"""Request and response models (never the ORM classes' own names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from casebridge.common.schemas import Schema


class AreaConfigRead(Schema):
    area_id: UUID
    version: int
    document: str
    rules: dict[str, Any]
    created_by: str
    created_at: datetime
