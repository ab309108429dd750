"""Open311 requests become complaints through the same domain function as the REST route."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi import Response
from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.auth import Principal
from casebridge.common.db import utcnow
from casebridge.intake import complaints
from casebridge.intake.complaints import LoggedComplaint
from casebridge.intake.idempotency import Claim
from casebridge.intake.models import Area, Complaint, Open311Client, PartnerAgency
from casebridge.intake.schemas.complaints import AsbType, ComplaintCreate
from casebridge.intake.visibility import own_complaints

from . import checks
from .catalogue import DEFAULT_NSIR, NAMES
from .formats import Open311Error

MAX_REQUESTS = 1000
MAX_WINDOW = timedelta(days=90)
_POSTCODE_AT_END = re.compile(r"([A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2})\s*$")


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


async def authenticate(session: AsyncSession, api_key: str | None) -> Open311Client:
    """The reporting app behind an api_key (stored as a digest); 403 as the spec says."""
    if not api_key or len(api_key) > 200:
        raise Open311Error(403, "api_key is missing or invalid")
    client = await session.scalar(
        select(Open311Client).where(Open311Client.api_key_sha256 == key_digest(api_key))
    )
    if client is None:
        raise Open311Error(403, "api_key is missing or invalid")
    return client


def principal_of(client: Open311Client) -> Principal:
    """The app acts for the agency it reports to (usually the council)."""
    return Principal(
        subject=f"open311:{client.name}",
        client_id=f"open311:{client.id}",
        agency_id=client.agency_id,
        area_id=client.area_id,
        scopes=frozenset(),
    )


def _number(form: dict[str, str], name: str) -> float | None:
    """A form field is text: a coordinate is read here (a complaint takes numbers only)."""
    if name not in form:
        return None
    try:
        value = float(form[name])
    except ValueError:
        raise Open311Error(400, f"{name} must be a decimal number") from None
    if not math.isfinite(value):
        raise Open311Error(400, f"{name} must be a decimal number")
    return value


def complaint_from_form(form: dict[str, str], attributes: dict[str, str]) -> ComplaintCreate:
    """Map a GeoReport v2 request onto a complaint; anything invalid is a spec 400."""
    code = form.get("service_code", "")
    if code not in AsbType.__members__:
        raise Open311Error(400, "service_code is missing or unknown")
    checks.attributes(attributes)
    checks.media_url(form.get("media_url"))
    has_place = ("lat" in form and "long" in form) or "address_string" in form
    if not has_place and "address_id" not in form:
        raise Open311Error(400, "give lat and long, address_string or address_id")
    name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p).strip()
    contact = {k: form[k] for k in ("email", "phone") if form.get(k)}
    address = form.get("address_string")
    found = _POSTCODE_AT_END.search(address or "")
    raw: dict[str, Any] = {
        "channel": "open311",
        "occurred_at": attributes.get("occurred_at") or utcnow().isoformat(),
        "location": {
            "address": address,
            "postcode": found.group(1) if found else None,
            "uprn": int(form["address_id"]) if form.get("address_id", "").isdigit() else None,
            "latitude": _number(form, "lat"),
            "longitude": _number(form, "long"),
        },
        "nsir_category": "personal"
        if attributes.get("targeted") == "yes"
        else DEFAULT_NSIR.get(AsbType(code), "nuisance"),
        "asb_type": code,
        "hate_motivated": attributes.get("hate_motivated") == "yes",
        "description": form.get("description", ""),
        "consent": {"status": attributes.get("consent_to_share", "not_asked")},
    }
    if name or contact:
        # Nobody can choose between candidates here: a certain match attaches, else new.
        details = {"name": name or "(name not given)", **contact}
        raw["complainant"] = {"details": details, "match": "new"}
    else:
        raw["anonymous"] = True
    raw["location"] = {k: v for k, v in raw["location"].items() if v is not None}
    try:
        return ComplaintCreate.model_validate(raw)
    except ValidationError as exc:
        raise Open311Error(400, checks.error_text(exc)) from exc


def request_draft(
    *,
    client: Open311Client,
    form: dict[str, str],
    attributes: dict[str, str],
    respond: Callable[[LoggedComplaint, str | None], Response],
    idempotency: Claim | None,
) -> complaints.Draft:
    """The complaint a request asks for, logged like any other (`complaints.log_complaints`)."""
    return complaints.Draft(
        principal_of(client),
        complaint_from_form(form, attributes),
        respond=respond,
        idempotency=idempotency,
        open311_client_id=client.id,
    )


def _parse_date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a W3C date-time") from exc
    if parsed.tzinfo is None:
        raise Open311Error(400, f"{name} must include a time zone")
    return parsed


async def area_of(session: AsyncSession, jurisdiction_id: str | None) -> UUID | None:
    """The area a (checked) jurisdiction_id names; None without one."""
    if jurisdiction_id is None:
        return None
    return await session.scalar(select(Area.id).where(Area.code == jurisdiction_id.upper()))


def own_requests(client: Open311Client) -> Select[Complaint]:
    """What a reporting app may read in full: the reports it made (that its agency sees)."""
    return own_complaints(principal_of(client)).where(Complaint.open311_client_id == client.id)


def public_requests(area_id: UUID | None) -> Select[Complaint]:
    """What anyone may read, without an api_key: reports made through Open311 (in the
    jurisdiction asked for), and of them only PUBLIC_FIELDS."""
    statement = select(Complaint).where(
        Complaint.channel == "open311", Complaint.open311_client_id.is_not(None)
    )
    return statement if area_id is None else statement.where(Complaint.area_id == area_id)


async def list_requests(
    session: AsyncSession, *, statement: Select[Complaint], query: dict[str, str]
) -> list[Complaint]:
    """Requests of `statement` (own_requests or public_requests); by default the last 90
    days, never a wider window, and at most 1,000 (the spec's limits)."""
    if query.get("service_request_id"):
        ids = [i.strip().upper() for i in query["service_request_id"].split(",") if i.strip()]
        if len(ids) > MAX_REQUESTS:
            raise Open311Error(400, f"at most {MAX_REQUESTS} service_request_id values")
        statement = statement.where(Complaint.reference.in_(ids))
    else:
        end = _parse_date(query.get("end_date"), "end_date") or utcnow()
        start = _parse_date(query.get("start_date"), "start_date") or end - MAX_WINDOW
        if end - start > MAX_WINDOW or start > end:
            raise Open311Error(400, "start_date to end_date must be at most 90 days, in order")
        statement = statement.where(Complaint.reported_at.between(start, end))
        if query.get("service_code"):
            statement = statement.where(Complaint.asb_type.in_(query["service_code"].split(",")))
        if query.get("status"):
            statement = statement.where(Complaint.status.in_(query["status"].split(",")))
    statement = statement.order_by(Complaint.reported_at.desc()).limit(MAX_REQUESTS)
    return list(await session.scalars(statement))


async def get_request(
    session: AsyncSession, *, statement: Select[Complaint], reference: str
) -> Complaint:
    found = await list_requests(
        session, statement=statement, query={"service_request_id": reference}
    )
    if not found:
        raise Open311Error(404, "no such service request")
    return found[0]


async def find_by_token(session: AsyncSession, *, client: Open311Client, token: str) -> Complaint:
    try:
        complaint_id = UUID(token)
    except ValueError as exc:
        raise Open311Error(404, "no such token") from exc
    complaint = await session.scalar(
        own_complaints(principal_of(client)).where(
            Complaint.id == complaint_id, Complaint.open311_client_id == client.id
        )
    )
    if complaint is None:
        raise Open311Error(404, "no such token")
    return complaint


async def agency_names(session: AsyncSession, complaints: list[Complaint]) -> dict[UUID, str]:
    """The name of each complaint's receiving agency (the agency responsible)."""
    ids = {c.receiving_agency_id for c in complaints}
    if not ids:
        return {}
    rows = await session.execute(
        select(PartnerAgency.id, PartnerAgency.name).where(PartnerAgency.id.in_(ids))
    )
    return {row.id: row.name for row in rows}


# What anyone may read of a report, without an api_key: an ASB report is about people, so
# never the description, the address, coordinates or anything about the reporter. Status
# notes are those meant for the public (none are written yet: always empty).
PUBLIC_FIELDS = (
    "service_request_id",
    "service_code",
    "service_name",
    "status",
    "status_notes",
    "agency_responsible",
    "requested_datetime",
    "updated_datetime",
)


def public_view(complaint: Complaint, agency: str) -> dict[str, Any]:
    """A report as anyone may read it: PUBLIC_FIELDS, in that order."""
    view = {
        "service_request_id": complaint.reference,
        "service_code": complaint.asb_type,
        "service_name": NAMES[AsbType(complaint.asb_type)],
        "status": complaint.status,
        "status_notes": None,
        "agency_responsible": agency,
        "requested_datetime": complaint.reported_at,
        "updated_datetime": complaint.updated_at,
    }
    assert tuple(view) == PUBLIC_FIELDS
    return view


def request_view(complaint: Complaint, agency: str) -> dict[str, Any]:
    """What a reporting app sees of its own report: status, not the narrative or address."""
    return public_view(complaint, agency) | {"service_notice": None, "expected_datetime": None}
