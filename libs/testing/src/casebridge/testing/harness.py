"""Run a service's app against a real database: with per-test rollback, or committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from casebridge.common.auth import TokenVerifier
from casebridge.common.settings import BaseServiceSettings, IssuerConfig
from casebridge.testing.tokens import TokenFactory


@dataclass
class ServiceUnderTest:
    """An app under test: its client, sessions on the same (rolled-back) transaction, and
    tokens for it, by default for one agency of one area with the service's usual scopes."""

    client: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenFactory
    settings: Any
    scopes: list[str]
    agency: UUID
    area: UUID

    def auth(
        self,
        agency: UUID | None = None,
        *,
        area: UUID | None = None,
        scopes: list[str] | None = None,
        **claims: Any,
    ) -> dict[str, str]:
        return self.tokens.headers(
            scopes=self.scopes if scopes is None else scopes,
            agency_id=agency or self.agency,
            area_id=area or self.area,
            audience=self.settings.audience_or_default(),
            **claims,
        )


def app_of(client: httpx.AsyncClient) -> FastAPI:
    """The app a test client talks to (over `httpx.ASGITransport`)."""
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    app: FastAPI = transport.app  # type: ignore[assignment]
    return app


def alembic_config(service: str, url: str) -> Config:
    module = __import__(f"casebridge.{service}", fromlist=["__file__"])
    service_dir = Path(module.__file__ or "").resolve().parents[3]
    config = Config(str(service_dir / "alembic.ini"))
    config.attributes["url"] = url
    return config


async def migrate(service: str, url: str, revision: str = "head") -> None:
    """Build the schema the way production does: by running the service's migrations."""
    await asyncio.to_thread(command.upgrade, alembic_config(service, url), revision)


async def downgrade(service: str, url: str, revision: str = "base") -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(service, url), revision)


def trust(app: FastAPI, tokens: TokenFactory, settings: BaseServiceSettings) -> None:
    """Make the app trust the test issuer's key (as if it had fetched its JWKS)."""
    app.state.token_verifier = TokenVerifier(
        issuers=[IssuerConfig(issuer=tokens.issuer, jwks_uri="http://jwks.invalid/")],
        audience=settings.audience_or_default(),
        leeway=settings.token_leeway_seconds,
        static_keys={tokens.issuer: tokens.key_set()},
    )


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@asynccontextmanager
async def rollback_client(
    create_app: Callable[..., FastAPI],
    settings: BaseServiceSettings,
    tokens: TokenFactory,
) -> AsyncIterator[tuple[httpx.AsyncClient, async_sessionmaker[AsyncSession]]]:
    """A client whose every write is rolled back after the test; the sessionmaker it
    returns sees the same uncommitted data. Access records are flushed only when a test asks
    (and at the end): a timed flush would share the test's one connection with a request."""
    app = create_app(settings.model_copy(update={"access_flush_seconds": 0}))
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    async with engine.connect() as conn:
        outer = await conn.begin()
        sessions = async_sessionmaker(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        async with running(app) as client:
            app.state.sessionmaker = sessions
            app.state.bind = conn
            trust(app, tokens, settings)
            yield client, sessions
        await outer.rollback()
    await engine.dispose()


@asynccontextmanager
async def committed_client(
    create_app: Callable[..., FastAPI],
    settings: BaseServiceSettings,
    tokens: TokenFactory | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client over the real app with real commits (for flow and fault tests)."""
    app = create_app(settings)
    async with running(app) as client:
        if tokens is not None:
            trust(app, tokens, settings)
        yield client
