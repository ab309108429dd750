"""Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) for public reporting apps.

Authentication is the app's `api_key` (POST form field, or query parameter on reads of the
app's own requests), not a bearer token: these paths are in PUBLIC_PATHS. Errors are the
spec's: 400/403/404 with a list of {code, description}, in the format asked for."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from casebridge.common.db import DbSession
from casebridge.common.errors import AppError
from casebridge.intake.complaints import LoggedComplaint
from casebridge.intake.idempotency import IdempotencyKeyHeader
from casebridge.intake.recorder import ComplaintRecorder

from ..routes.deps import Areas
from . import catalogue, service
from .formats import Open311Error, check_format, render, render_error

PREFIX = "/open311/v2"
Q = Annotated[str | None, Query(max_length=20_000)]


class Open311Route(APIRoute):
    """Render every failure the way the spec says, in the format of the request."""

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
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                )
                return render_error(Open311Error(400, detail), fmt)
            except AppError as exc:
                return render_error(Open311Error(exc.status_code, str(exc.detail)), fmt)

        return handler


router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route)


@router.get("/discovery.{format}")
async def discovery(format: str, request: Request) -> Response:
    """Where this endpoint is and what it speaks."""
    fmt = check_format(format)
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
    return render("discovery", payload, fmt)


@router.get("/services.{format}")
async def services(format: str, jurisdiction_id: Q = None) -> Response:
    """The ASB types, one service each."""
    return render("services", catalogue.service_list(), check_format(format))


@router.get("/services/{service_code}.{format}")
async def service_definition(service_code: str, format: str, jurisdiction_id: Q = None) -> Response:
    """A service's attributes (when, targeted, hate-motivated, consent to share)."""
    fmt = check_format(format)
    found = catalogue.definition(service_code)
    if found is None:
        raise Open311Error(404, f"no service {service_code}")
    if fmt == "json":
        return render("service_definition", catalogue.definition_json(service_code), fmt)
    return render("service_definition", found, fmt)


FORM_FIELDS = [
    "api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string",
    "address_id", "email", "device_id", "account_id", "first_name", "last_name", "phone",
    "description", "media_url", "attribute[occurred_at]", "attribute[targeted]",
    "attribute[hate_motivated]", "attribute[consent_to_share]",
]  # fmt: skip
FORM_DOC: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["api_key", "service_code"],
                    "properties": {f: {"type": "string"} for f in FORM_FIELDS},
                }
            }
        }
    }
}


async def _form(request: Request) -> tuple[dict[str, str], dict[str, str]]:
    form = await request.form(max_files=0, max_fields=60)
    fields = {k: str(v) for k, v in form.items() if str(v) != ""}
    attributes = {
        k[len("attribute[") : -1]: v
        for k, v in fields.items()
        if k.startswith("attribute[") and k.endswith("]")
    }
    return fields, attributes


@router.post("/requests.{format}", openapi_extra=FORM_DOC)
async def create_request(
    format: str,
    request: Request,
    session: DbSession,
    areas: Areas,
    key: IdempotencyKeyHeader,
    recorder: ComplaintRecorder,
) -> Response:
    """A new report (form-encoded). Answers with the Casebridge reference at once."""
    fmt = check_format(format)
    fields, attributes = await _form(request)
    client = await service.authenticate(session, fields.get("api_key"))
    jurisdiction = fields.get("jurisdiction_id")
    area = await areas.get(session, client.area_id)
    if jurisdiction and jurisdiction.upper() != area.code:
        raise Open311Error(404, f"jurisdiction_id {jurisdiction} is not served here")

    def created(complaint: LoggedComplaint, _how: str | None) -> Response:
        answer = {
            "service_request_id": complaint.reference,
            "token": str(complaint.id),
            "service_notice": "Quote this reference whenever you contact any agency.",
            "account_id": fields.get("account_id"),
        }
        return render("service_requests", [answer], fmt, 201)

    draft = service.request_draft(
        client=client,
        form=fields,
        attributes=attributes,
        respond=created,
        idempotency=key.claim(f"open311:{client.id}"),
    )
    return await recorder.log(draft)


@router.get("/requests.{format}")
async def list_requests(
    format: str,
    request: Request,
    session: DbSession,
    api_key: Q = None,
    jurisdiction_id: Q = None,
    service_request_id: Q = None,
    service_code: Q = None,
    start_date: Q = None,
    end_date: Q = None,
    status: Q = None,
) -> Response:
    """The app's own requests (api_key required: reports are about people)."""
    fmt = check_format(format)
    client = await service.authenticate(session, api_key)
    query = {k: v for k, v in request.query_params.items() if v}
    found = await service.list_requests(session, client=client, query=query)
    agency = await service.agency_name(session, client.agency_id)
    return render("service_requests", [service.request_view(c, agency) for c in found], fmt)


@router.get("/requests/{service_request_id}.{format}")
async def get_request(
    service_request_id: str,
    format: str,
    session: DbSession,
    api_key: Q = None,
    jurisdiction_id: Q = None,
) -> Response:
    fmt = check_format(format)
    client = await service.authenticate(session, api_key)
    complaint = await service.get_request(session, client=client, reference=service_request_id)
    agency = await service.agency_name(session, client.agency_id)
    return render("service_requests", [service.request_view(complaint, agency)], fmt)


@router.get("/tokens/{token}.{format}")
async def token(
    token: str, format: str, session: DbSession, api_key: Q = None, jurisdiction_id: Q = None
) -> Response:
    """The service_request_id behind a token (ours are issued at once, so always known)."""
    fmt = check_format(format)
    client = await service.authenticate(session, api_key)
    complaint = await service.find_by_token(session, client=client, token=token)
    payload = [{"token": token, "service_request_id": complaint.reference}]
    return render("service_requests", payload, fmt)
