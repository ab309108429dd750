"""Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) for public reporting apps.

A report is made with the app's `api_key` (POST form field), not a bearer token: these
paths are in PUBLIC_PATHS. Reads need no key (the spec's GET requests): anyone sees a
report's public fields (`service.PUBLIC_FIELDS`); with its key, an app sees its own
reports in full. Errors are the spec's: 400/403/404/413 with a list of {code, description},
in the format asked for."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from casebridge.common.db import DbSession
from casebridge.common.errors import AppError
from casebridge.common.openapi import OWN_ERRORS
from casebridge.common.wire import Timestamp
from casebridge.intake.complaints import LoggedComplaint
from casebridge.intake.idempotency import IdempotencyKeyHeader
from casebridge.intake.models import Open311Client
from casebridge.intake.recorder import ComplaintRecorder

from ..routes.deps import Areas
from . import catalogue, checks, schemas, service
from .formats import Format, Open311Error, documented, render, render_error

PREFIX = "/open311/v2"
Q = Annotated[str | None, Query(max_length=20_000)]
Jurisdiction = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The area's code; needed where an endpoint serves several areas",
    ),
]
ApiKey = Annotated[
    str | None,
    Query(max_length=200, description="The reporting app's key: its own reports in full"),
]


class Open311Route(APIRoute):
    """Render every failure the way the spec says, in the format of the request."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["openapi_extra"] = {**(kwargs.get("openapi_extra") or {}), OWN_ERRORS: True}
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            fmt = str(request.path_params.get("format", "json"))
            try:
                return await original(request)
            except Open311Error as exc:
                return render_error(exc, fmt)
            except RequestValidationError as exc:
                detail = "; ".join(
                    f"{e['loc'][-1] if e['loc'] else 'request'}: {e['msg']}" for e in exc.errors()
                )
                return render_error(Open311Error(400, detail), fmt)
            except AppError as exc:  # the spec has no 422: a field it refuses is a 400
                status = 400 if exc.status_code == 422 else exc.status_code
                return render_error(Open311Error(status, _text(exc.detail)), fmt)
            except StarletteHTTPException as exc:  # a body over the limit (413)
                return render_error(Open311Error(exc.status_code, str(exc.detail)), fmt)

        return handler


def _text(detail: Any) -> str:
    if isinstance(detail, list):  # [{field, reason}]
        return "; ".join(f"{d.get('field', '')}: {d.get('reason', '')}" for d in detail)
    return str(detail)


router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route)


@router.get("/discovery.{format}", responses=documented(schemas.DISCOVERY))
async def discovery(
    format: Format, request: Request, session: DbSession, jurisdiction_id: Jurisdiction = None
) -> Response:
    """Where this endpoint is and what it speaks."""
    await checks.jurisdiction(session, jurisdiction_id)
    base = str(request.base_url).rstrip("/") + PREFIX
    payload = {
        "changeset": "2026-11-22T00:00:00Z",
        "contact": "The area's ASB team",
        "key_service": "Ask the Community Safety Partnership for an api_key",
        "endpoints": {
            "endpoint": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base,
                    "changeset": "2026-11-22T00:00:00Z",
                    "type": "production",
                    "formats": {"format": ["text/xml", "application/json"]},
                }
            ]
        },
    }
    return render("discovery", payload, format)


@router.get("/services.{format}", responses=documented(schemas.SERVICES))
async def services(
    format: Format, session: DbSession, jurisdiction_id: Jurisdiction = None
) -> Response:
    """The ASB types, one service each."""
    await checks.jurisdiction(session, jurisdiction_id)
    return render("services", catalogue.service_list(), format)


@router.get("/services/{service_code}.{format}", responses=documented(schemas.DEFINITION))
async def service_definition(
    service_code: str, format: Format, session: DbSession, jurisdiction_id: Jurisdiction = None
) -> Response:
    """A service's attributes (when, targeted, hate-motivated, consent to share)."""
    await checks.jurisdiction(session, jurisdiction_id)
    found = catalogue.definition(service_code)
    if found is None:
        raise Open311Error(404, "no such service")
    if format == "json":
        return render("service_definition", catalogue.definition_json(service_code), format)
    return render("service_definition", found, format)


FORM_FIELDS = [
    "api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string",
    "address_id", "email", "device_id", "account_id", "first_name", "last_name", "phone",
    "description", "media_url", "attribute[occurred_at]", "attribute[targeted]",
    "attribute[hate_motivated]", "attribute[consent_to_share]",
]  # fmt: skip
FORM_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {checks.FORM_TYPE: {"schema": schemas.request_form(FORM_FIELDS)}},
    }
}


async def _form(request: Request) -> tuple[dict[str, str], dict[str, str]]:
    checks.form_body(request.headers.get("content-type", ""))
    form = await request.form(max_files=0, max_fields=60)
    fields = {k: str(v) for k, v in form.items() if str(v) != ""}
    attributes = {
        k[len("attribute[") : -1]: v
        for k, v in fields.items()
        if k.startswith("attribute[") and k.endswith("]")
    }
    return fields, attributes


@router.post(
    "/requests.{format}",
    openapi_extra=FORM_DOC,
    status_code=201,
    responses=documented(schemas.CREATED, created=True),
)
async def create_request(
    format: Format,
    request: Request,
    session: DbSession,
    areas: Areas,
    key: IdempotencyKeyHeader,
    recorder: ComplaintRecorder,
) -> Response:
    """A new report (form-encoded). Answers with the Casebridge reference at once."""
    fields, attributes = await _form(request)
    client = await service.authenticate(session, fields.get("api_key"))
    area = await areas.get(session, client.area_id)
    await checks.jurisdiction(session, fields.get("jurisdiction_id"), served=area.code)

    def created(complaint: LoggedComplaint, _how: str | None) -> Response:
        answer = {
            "service_request_id": complaint.reference,
            "token": str(complaint.id),
            "service_notice": "Quote this reference whenever you contact any agency.",
            "account_id": fields.get("account_id"),
        }
        return render("service_requests", [answer], format, 201)

    draft = service.request_draft(
        client=client,
        form=fields,
        attributes=attributes,
        respond=created,
        idempotency=key.claim(f"open311:{client.id}"),
    )
    return await recorder.log(draft)


async def _reader(
    session: DbSession, areas: Areas, api_key: str | None, jurisdiction_id: str | None
) -> tuple[Open311Client | None, Any]:
    """Who reads, and the requests they may read: an app with its key, its own; anyone
    else, the public ones of the jurisdiction asked for."""
    if api_key is not None:
        client = await service.authenticate(session, api_key)
        area = await areas.get(session, client.area_id)
        await checks.jurisdiction(session, jurisdiction_id, served=area.code)
        return client, service.own_requests(client)
    await checks.jurisdiction(session, jurisdiction_id)
    area_id = await service.area_of(session, jurisdiction_id)
    return None, service.public_requests(area_id)


async def _views(
    session: DbSession, found: list[Any], client: Open311Client | None
) -> list[dict[str, Any]]:
    names = await service.agency_names(session, found)
    view = service.public_view if client is None else service.request_view
    return [view(c, names.get(c.receiving_agency_id, "")) for c in found]


@router.get("/requests.{format}", responses=documented(schemas.REQUESTS))
async def list_requests(
    format: Format,
    request: Request,
    session: DbSession,
    areas: Areas,
    api_key: ApiKey = None,
    jurisdiction_id: Jurisdiction = None,
    service_request_id: Q = None,
    service_code: Q = None,
    start_date: Timestamp | None = None,
    end_date: Timestamp | None = None,
    status: Q = None,
) -> Response:
    """Reports, newest first: their public fields, or an app's own in full with its key."""
    client, statement = await _reader(session, areas, api_key, jurisdiction_id)
    query = {k: v for k, v in request.query_params.items() if v}
    found = await service.list_requests(session, statement=statement, query=query)
    return render("service_requests", await _views(session, found, client), format)


@router.get("/requests/{service_request_id}.{format}", responses=documented(schemas.REQUESTS))
async def get_request(
    service_request_id: str,
    format: Format,
    session: DbSession,
    areas: Areas,
    api_key: ApiKey = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """One report: its public fields, or in full for the app that made it (with its key)."""
    client, statement = await _reader(session, areas, api_key, jurisdiction_id)
    found = await service.get_request(session, statement=statement, reference=service_request_id)
    return render("service_requests", await _views(session, [found], client), format)


@router.get("/tokens/{token}.{format}", responses=documented(schemas.TOKENS))
async def token(
    token: str,
    format: Format,
    session: DbSession,
    areas: Areas,
    api_key: Q = None,
    jurisdiction_id: Jurisdiction = None,
) -> Response:
    """The service_request_id behind a token (ours are issued at once, so always known)."""
    client = await service.authenticate(session, api_key)
    area = await areas.get(session, client.area_id)
    await checks.jurisdiction(session, jurisdiction_id, served=area.code)
    complaint = await service.find_by_token(session, client=client, token=token)
    payload = [{"token": token, "service_request_id": complaint.reference}]
    return render("service_requests", payload, format)
