"""Review API: triggers and ASB case reviews for SPOCs, panels and applicants' agencies."""

from __future__ import annotations

from fastapi import FastAPI

from casebridge.common.app import create_service_app
from casebridge.review.routes import routers
from casebridge.review.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        title="Casebridge review",
        description="Trigger rules per area, the qualifying-complaint index, ASB case reviews.",
        routers=routers,
    )
