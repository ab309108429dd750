"""Stats API: the counts the law requires, the public page, and what analysts need."""

from __future__ import annotations

from fastapi import FastAPI

from casebridge.common.app import create_service_app
from casebridge.common.revocation import replica_revocations
from casebridge.stats import routes
from casebridge.stats.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        title="Casebridge stats",
        description="Depersonalised counts of complaints and ASB Case Reviews: the four "
        "published counts (JSON, CSV, a public page per area), the analysts' monthly measures "
        "and the quarterly data return.",
        routers=[routes.analysts, routes.public],
        revocations=replica_revocations,
    )
