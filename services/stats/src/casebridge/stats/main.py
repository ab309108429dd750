"""Stats API: the counts the law requires and what analysts need."""

from __future__ import annotations

from fastapi import FastAPI

from casebridge.common.app import create_service_app
from casebridge.stats.routes import router
from casebridge.stats.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        title="Casebridge stats",
        description="Depersonalised counts of complaints and case reviews.",
        routers=[router],
    )
