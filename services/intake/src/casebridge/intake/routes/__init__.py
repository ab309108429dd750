"""Intake's REST routes (bearer tokens) and Open311 (api_key)."""

from __future__ import annotations

from fastapi import APIRouter

from casebridge.intake.open311 import routes as open311

from . import complaints, people, risk

router = APIRouter()
router.include_router(complaints.router)
router.include_router(risk.router)
router.include_router(people.router)
router.include_router(open311.router)
