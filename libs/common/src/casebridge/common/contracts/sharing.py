"""Events produced by sharing (`sharing.<area>.<name>.v<n>`). Additive-only."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from casebridge.common.events.envelope import Contract, register


class _SharingEvent(Contract):
    source: ClassVar[str] = "sharing"


@register
class DisclosureRecorded(_SharingEvent):
    """Information went to a partner (or was refused): no values, only field names."""

    name: ClassVar[str] = "disclosure.recorded"
    aggregate_type: ClassVar[str] = "disclosure"

    disclosure_id: UUID
    source_event_id: UUID
    source_event_type: str
    recipient_agency_id: UUID
    fields: list[str]
    outcome: str
    occurred_at: datetime
    # Added with the sharing service (additive): why, under which law, the recipient's kind.
    purpose: str | None = None
    legal_basis: str | None = None
    recipient_kind: str | None = None
    reason: str | None = None
