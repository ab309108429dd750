"""The frame every service's API shares: errors, auth, health, metrics, limits, headers."""

from __future__ import annotations

import asyncio
import gc
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import Table, text
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casebridge.common.access import AccessLog, TraceReads
from casebridge.common.auth import TokenVerifier
from casebridge.common.db import make_engine, make_sessionmaker
from casebridge.common.errors import install_error_handlers
from casebridge.common.events.connection import reachable
from casebridge.common.logging import configure_logging
from casebridge.common.openapi import api_routes, document_errors
from casebridge.common.revocation import RevocationLoader, Revocations
from casebridge.common.schemas import storable_url
from casebridge.common.settings import BaseServiceSettings

PROTOCOL_HEADER = "Casebridge-Protocol-Version"

# Routes that are public by design; every other route must declare scopes (AUTH-R5).
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

REQUESTS = Counter(
    "casebridge_http_requests_total", "HTTP requests", ["service", "route", "status"]
)
LATENCY = Histogram("casebridge_http_request_seconds", "HTTP latency", ["service", "route"])

Hook = Callable[[FastAPI], Awaitable[None]]


class ServiceApp(FastAPI):
    """A service's FastAPI app: its OpenAPI document states the errors it really sends."""

    _documented: dict[str, Any] | None = None

    def openapi(self) -> dict[str, Any]:
        document = super().openapi()
        if self._documented is not document:
            document_errors(document, api_routes(self.routes))
            self._documented = document
        return document


class Methods:
    """OPTIONS answers with every method of the path (204, Allow), and a 405 lists them all:
    each method of a path is a route of its own, and the router's 405 named only the first
    route's. Paths nothing serves are left to the router (404)."""

    def __init__(self, app: ASGIApp, routes: Callable[[], Sequence[tuple[str, APIRoute]]]):
        self.app = app
        self._routes = routes
        self._table: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    def allowed(self, path: str) -> str | None:
        if self._table is None:
            by_path: dict[str, set[str]] = {}
            for template, route in self._routes():
                by_path.setdefault(template, set()).update(route.methods or ())
            self._table = [
                (compile_path(template)[0], frozenset(methods | {"OPTIONS"}))
                for template, methods in by_path.items()
            ]
        methods = {m for pattern, ms in self._table if pattern.match(path) for m in ms}
        return ", ".join(sorted(methods)) if methods else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and (allow := self.allowed(scope["path"])):
            await Response(status_code=204, headers={"Allow": allow})(scope, receive, send)
            return

        async def send_allow(message: Message) -> None:
            # Only a 405 looks the path up: other requests pay nothing for this.
            started = message["type"] == "http.response.start"
            if started and message["status"] == 405 and (allow := self.allowed(scope["path"])):
                MutableHeaders(scope=message)["allow"] = allow
            await send(message)

        await self.app(scope, receive, send_allow)


class BodyLimit:
    """Refuse request bodies over the limit with 413 before anything parses them (API4).

    The refusal is raised where the body is read, as an HTTPException (FastAPI passes those
    on untouched), so each route renders it in its own error format: JSON here, Open311's
    XML or JSON on its routes."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_large = declared is not None and declared.isdigit() and int(declared) > self.max_bytes
        received = 0

        async def limited() -> Message:
            nonlocal received
            if too_large:
                raise _too_large(self.max_bytes)
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _too_large(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def _too_large(limit: int) -> StarletteHTTPException:
    return StarletteHTTPException(413, f"request body exceeds {limit} bytes")


def create_service_app(
    settings: BaseServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    version: str = "1.0.0",
    revocations: RevocationLoader | None = None,
    access_records: Table | None = None,
) -> FastAPI:
    """Build a service's FastAPI app; connections open in the lifespan, never at import.
    `on_shutdown` hooks run before the database engine closes. With `access_records` (the
    service's `access_record` table) every record its presenters show is traced there."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(
            settings.log_level, json_format=settings.log_json, service=settings.service_name
        )
        engine = make_engine(settings)
        app.state.engine = engine
        # What the app's sessions are bound to: the engine here; a rolled-back test binds
        # them (and sets `bind`) to the one connection holding its transaction.
        app.state.bind = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        # A verifier put there before start-up (a test's, trusting its own issuer) is kept.
        if not isinstance(getattr(app.state, "token_verifier", None), TokenVerifier):
            app.state.token_verifier = TokenVerifier.from_settings(settings)
        if revocations is not None:
            app.state.revocations = Revocations(
                revocations, ttl=settings.revocation_refresh_seconds
            )
        if access_records is not None:
            app.state.access_log = AccessLog(
                access_records,
                lambda: app.state.sessionmaker,
                flush_seconds=settings.access_flush_seconds,
                flush_rows=settings.access_flush_rows,
                max_rows=settings.access_buffer_rows,
            )
        for hook in on_startup:
            await hook(app)
        if access_records is not None:
            app.state.access_log.start()
        # Everything loaded so far (modules, metadata, phone number tables, configuration)
        # lives as long as the process: keep it out of the collector's way. Without this a
        # full collection walked it every second or so under load, stopping every request
        # in flight for ~65 ms (measured with bench/intake_bench.py) to free nothing.
        gc.freeze()
        try:
            yield
        finally:
            for hook in on_shutdown:
                await hook(app)
            if access_records is not None:
                await app.state.access_log.stop()
            await app.state.token_verifier.aclose()
            await engine.dispose()

    app = ServiceApp(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        docs_url="/docs" if settings.expose_docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.expose_docs else None,
        telemetry=None if settings.opentelemetry else TELEMETRY_OFF,
        dependencies=[Depends(storable_url)],
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(_ops_router(settings.service_name))
    for router in routers:
        app.include_router(router)
    _install_middleware(app, settings)
    return app


TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}

SECURITY_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
)


class Observe:
    """Metrics per route template and security headers on every response (API8).

    A plain ASGI middleware: Starlette's BaseHTTPMiddleware (`@app.middleware`) copies every
    response through a stream and costs more CPU per request than a one-INSERT endpoint."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
                # The protocol version a read was decided under (set by `Viewing`), so a
                # caller can wait for a newly published version to be in force.
                version = (scope.get("state") or {}).get("protocol_version")
                if version is not None:
                    headers[PROTOCOL_HEADER] = str(version)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(self.service, template, str(status)).inc()
            LATENCY.labels(self.service, template).observe(time.perf_counter() - started)


def _install_middleware(app: FastAPI, settings: BaseServiceSettings) -> None:
    app.add_middleware(TraceReads)
    app.add_middleware(Methods, routes=lambda: list(api_routes(app.routes)))
    app.add_middleware(Observe, service=settings.service_name)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: str = Field(description="ok, or why not")
    nats: str = Field(description="ok, or why not")


def _ops_router(service: str) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get(
        "/readyz",
        summary="Readiness: database and NATS reachable",
        response_model=Readiness,
        responses={503: {"description": "a dependency is down", "model": Readiness}},
    )
    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, Any] = {"database": "ok", "nats": "ok"}
        try:
            async with request.app.state.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        # The API publishes nothing itself (the worker relays the outbox), so it holds no
        # NATS connection; readiness only asks whether the server answers.
        if not await reachable(request.app.state.settings.nats_url):
            checks["nats"] = "unavailable"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", **checks},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
