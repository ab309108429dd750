"""Events produced by review (`review.<area>.<name>.v<n>`). Additive-only."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from casebridge.common.events.envelope import Contract, register


class _ReviewEvent(Contract):
    source: ClassVar[str] = "review"


@register
class ComplaintIndexed(_ReviewEvent):
    """Review recorded a complaint in its qualifying-complaint index."""

    name: ClassVar[str] = "complaint.indexed"
    aggregate_type: ClassVar[str] = "complaint"

    complaint_id: UUID
    person_id: UUID | None = None
