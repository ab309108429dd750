"""Sharing API: the partner registry, the token endpoint and JWKS, and partner feeds."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from casebridge.common.app import create_service_app
from casebridge.sharing import (
    admin_routes,
    audit_routes,
    case_routes,
    clients,
    feed,
    keys,
    protocol_routes,
    routes,
    webhook_routes,
)
from casebridge.sharing.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def load_signing_key(app: FastAPI) -> None:
        app.state.signing_key = await asyncio.to_thread(
            keys.load_or_create, settings.signing_key_file
        )

    async def start_feed(app: FastAPI) -> None:
        app.state.feed_waiters = feed.waiters_for(settings.database_url)

    async def stop_feed(app: FastAPI) -> None:
        await feed.stop_listening(app.state.feed_waiters)

    return create_service_app(
        settings,
        title="Casebridge sharing",
        description="The partner registry, the OAuth2 token endpoint and JWKS, the "
        "information-sharing protocol, case invitations, partner deliveries and the "
        "disclosure log.",
        routers=[
            routes.router,
            admin_routes.router,
            protocol_routes.router,
            case_routes.router,
            audit_routes.router,
            webhook_routes.router,
        ],
        on_startup=[load_signing_key, start_feed],
        on_shutdown=[stop_feed],
        revocations=clients.revoked_client_ids,
    )
