"""Intake API: the single complaint log from the first call."""

from __future__ import annotations

from casebridge.common.app import create_service_app
from casebridge.intake.routes import router
from casebridge.intake.settings import Settings
from fastapi import FastAPI


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        title="Casebridge intake",
        description="Complaints, complaint logs, incidents, risk assessments and references.",
        routers=[router],
    )
