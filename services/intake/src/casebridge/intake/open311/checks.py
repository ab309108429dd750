"""What a GeoReport v2 request must be before it becomes a complaint: the spec's media type,
a jurisdiction this service serves, attributes from the service definition, an http(s)
media_url. Every refusal is the spec's 400 (or 404 for a jurisdiction not served), and it
speaks the spec's names (lat, attribute[consent_to_share]), never ours."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.intake.models import Area

from .catalogue import ATTRIBUTES
from .formats import Open311Error

FORM_TYPE = "application/x-www-form-urlencoded"
_JURISDICTION = re.compile(r"[A-Za-z0-9_-]{1,40}")
_CHOICES = {a["code"]: {v["key"] for v in a["values"]} for a in ATTRIBUTES if a["values"]}
_DATETIMES = {a["code"] for a in ATTRIBUTES if a["datatype"] == "datetime"}

# Our field (as pydantic names it) -> the GeoReport v2 parameter a client sent.
SPEC_NAMES = {
    "location.latitude": "lat",
    "location.longitude": "long",
    "location.address": "address_string",
    "location.postcode": "address_string",
    "location.uprn": "address_id",
    "location": "lat, long, address_string or address_id",
    "description": "description",
    "occurred_at": "attribute[occurred_at]",
    "consent.status": "attribute[consent_to_share]",
    "complainant.details.email": "email",
    "complainant.details.phone": "phone",
    "complainant.details.name": "first_name and last_name",
    "asb_type": "service_code",
}


def form_body(content_type: str) -> None:
    """POST requests is a form (the spec); anything else would read as a form without fields."""
    if content_type.split(";")[0].strip().lower() != FORM_TYPE:
        raise Open311Error(400, f"send the request as {FORM_TYPE} (form fields), not JSON")


async def jurisdiction(session: AsyncSession, value: str | None, served: str | None = None) -> None:
    """A jurisdiction_id names an area this service serves (the app's own, with an api_key);
    checked the same way on every call, GET or POST. Never echoed back."""
    if value is None:
        return
    if not _JURISDICTION.fullmatch(value):
        raise Open311Error(400, "jurisdiction_id must be 1-40 letters, digits, - or _")
    code = value.upper()
    known = (
        code == served
        if served is not None
        else await session.scalar(select(Area.id).where(Area.code == code)) is not None
    )
    if not known:
        raise Open311Error(404, "jurisdiction_id is not served here")


def attributes(given: dict[str, str]) -> None:
    """attribute[code] values from the service definition only (the spec's 400 otherwise)."""
    for code, value in given.items():
        name = f"attribute[{code}]"
        if code in _CHOICES:
            if value not in _CHOICES[code]:
                allowed = ", ".join(sorted(_CHOICES[code]))
                raise Open311Error(400, f"{name} must be one of: {allowed}")
        elif code in _DATETIMES:
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise Open311Error(400, f"{name} must be a W3C date-time") from None
            if parsed.tzinfo is None:
                raise Open311Error(400, f"{name} must include a time zone")
        else:
            raise Open311Error(400, f"{name} is not an attribute of this service")


def media_url(value: str | None) -> None:
    if value is None:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 2000:
        raise Open311Error(400, "media_url must be an http or https URL")


def error_text(exc: ValidationError) -> str:
    """A complaint's validation errors as a client of the spec can act on them."""
    return "; ".join(_reason(error) for error in exc.errors())


def _reason(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"] if not isinstance(p, int))
    name = SPEC_NAMES.get(where) or SPEC_NAMES.get(where.rsplit(".", 1)[0]) or "the request"
    if error["type"] in ("enum", "literal_error"):
        return f"{name}: not a value this service offers"
    message = str(error["msg"]).removeprefix("Value error, ")
    if where == "location":
        message = "give lat and long, address_string or address_id"
    elif where == "" and "future" in message:
        name = "attribute[occurred_at]"
    return f"{name}: {message}"
