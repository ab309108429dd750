"""Intake API: the single complaint log from the first call."""

from __future__ import annotations

from fastapi import FastAPI

from casebridge.common.app import create_service_app
from casebridge.common.isp.directory import replica_directory
from casebridge.common.revocation import replica_revocations
from casebridge.intake.areas import AreaDirectory
from casebridge.intake.config import AreaConfigs
from casebridge.intake.models import access_record
from casebridge.intake.recorder import Recorder
from casebridge.intake.routes import routers
from casebridge.intake.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def load_area_configs(app: FastAPI) -> None:
        # Validated here so a broken area file stops the service at start-up.
        app.state.area_configs = AreaConfigs(settings.area_configs_path())
        app.state.areas = AreaDirectory(app.state.area_configs, ttl=settings.area_cache_seconds)
        app.state.directory = replica_directory(ttl=settings.protocol_cache_seconds)

    async def start_recorder(app: FastAPI) -> None:
        # Read per batch: a rolled-back test binds the app to its connection after start-up.
        app.state.recorder = Recorder(
            lambda: app.state.bind,
            app.state.areas,
            app.state.directory,
            max_batch=settings.recorder_max_batch,
            concurrency=settings.recorder_concurrency,
        )
        app.state.recorder.start()

    async def stop_recorder(app: FastAPI) -> None:
        await app.state.recorder.stop()

    return create_service_app(
        settings,
        title="Casebridge intake",
        description="Complaints, complaint logs, incidents, risk assessments and references. "
        "Public reporting apps use Open311 GeoReport v2 under /open311/v2/.",
        routers=routers,
        on_startup=[load_area_configs, start_recorder],
        on_shutdown=[stop_recorder],
        revocations=replica_revocations,
        access_records=access_record,
    )
