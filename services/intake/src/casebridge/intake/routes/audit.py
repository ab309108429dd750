"""`GET /audit/access`: who read the records the caller's agency controls (its DPO)."""

from __future__ import annotations

from casebridge.common.access_audit import access_audit_router
from casebridge.intake.models import access_record
from casebridge.intake.visibility import access_controlled_by

router = access_audit_router(
    access_record, scope="complaints:read", controlled=access_controlled_by
)
