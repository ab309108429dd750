"""Review API: triggers and ASB case reviews for SPOCs, panels and applicants' agencies."""

from __future__ import annotations

from fastapi import FastAPI

from casebridge.common.app import create_service_app
from casebridge.common.isp.directory import replica_directory
from casebridge.common.revocation import replica_revocations
from casebridge.review.models import access_record
from casebridge.review.routes import routers
from casebridge.review.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def load_directory(app: FastAPI) -> None:
        app.state.directory = replica_directory(ttl=settings.protocol_cache_seconds)

    return create_service_app(
        settings,
        title="Casebridge review",
        description="Trigger rules per area, the qualifying-complaint index, ASB case reviews.",
        routers=routers,
        on_startup=[load_directory],
        revocations=replica_revocations,
        access_records=access_record,
    )
