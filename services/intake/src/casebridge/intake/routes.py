"""Complaint routes: parse, authorise, delegate."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from casebridge.common.auth import Principal, Scoped
from casebridge.common.db import DbSession
from casebridge.intake import service
from casebridge.intake.models import Complaint
from casebridge.intake.schemas import ComplaintCreate, ComplaintRead
from fastapi import APIRouter

router = APIRouter(tags=["complaints"])

CanLogComplaints = Annotated[Principal, Scoped("complaints:write")]
CanReadComplaints = Annotated[Principal, Scoped("complaints:read")]


@router.post("/complaints", status_code=201, response_model=ComplaintRead)
async def log_complaint(
    data: ComplaintCreate, session: DbSession, who: CanLogComplaints
) -> Complaint:
    """Log a complaint; the response carries its Casebridge reference."""
    return await service.log_complaint(session, principal=who, data=data)


@router.get("/complaints/{complaint_id}", response_model=ComplaintRead)
async def get_complaint(
    complaint_id: UUID, session: DbSession, who: CanReadComplaints
) -> Complaint:
    return await service.get_complaint(session, principal=who, complaint_id=complaint_id)
