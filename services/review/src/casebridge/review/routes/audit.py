"""`GET /audit/access`: who read the records the caller's agency controls (its DPO)."""

from __future__ import annotations

from casebridge.common.access_audit import access_audit_router
from casebridge.review.models import access_record
from casebridge.review.visibility import access_controlled_by

router = access_audit_router(access_record, scope="reviews:read", controlled=access_controlled_by)
