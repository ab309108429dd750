"""JSON Schemas of GeoReport v2 answers and of the request form, for the OpenAPI document.
(Open311 answers are rendered by hand in JSON or XML, so no Pydantic model describes them.)"""

from __future__ import annotations

from typing import Any

from .service import PUBLIC_FIELDS

_TEXT = {"type": "string"}
_MAYBE_TEXT = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _array_of(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "object", "required": required, "properties": properties},
    }


DISCOVERY: dict[str, Any] = {
    "type": "object",
    "required": ["changeset", "contact", "key_service", "endpoints"],
    "properties": {
        "changeset": _TEXT, "contact": _TEXT, "key_service": _TEXT, "endpoints": {"type": "object"},
    },
}  # fmt: skip
SERVICES = _array_of(
    {
        "service_code": _TEXT, "service_name": _TEXT, "description": _TEXT,
        "metadata": {"type": "boolean"}, "type": _TEXT, "keywords": _TEXT, "group": _TEXT,
    },
    ["service_code", "service_name", "metadata", "type"],
)  # fmt: skip
DEFINITION: dict[str, Any] = {
    "type": "object",
    "required": ["service_code", "attributes"],
    "properties": {"service_code": _TEXT, "attributes": {"type": "array"}},
}
REQUEST_PROPERTIES: dict[str, Any] = {
    "service_request_id": _TEXT,
    "service_code": _TEXT,
    "service_name": _TEXT,
    "status": {"type": "string", "enum": ["open", "closed"]},
    "status_notes": _MAYBE_TEXT,
    "agency_responsible": _TEXT,
    "requested_datetime": _TIME,
    "updated_datetime": _TIME,
    # Only in an app's view of its own reports:
    "service_notice": _MAYBE_TEXT,
    "expected_datetime": _MAYBE_TIME,
}
REQUESTS = _array_of(REQUEST_PROPERTIES, list(PUBLIC_FIELDS))
REQUESTS["description"] = "Without api_key every report shows its public fields only: " + ", ".join(
    PUBLIC_FIELDS
)
CREATED = _array_of(
    {"service_request_id": _TEXT, "token": _TEXT, "service_notice": _TEXT,
     "account_id": _MAYBE_TEXT},
    ["service_request_id", "token"],
)  # fmt: skip
TOKENS = _array_of({"token": _TEXT, "service_request_id": _TEXT}, ["token", "service_request_id"])

ATTRIBUTE_VALUES = {
    "attribute[targeted]": ["yes", "no"],
    "attribute[hate_motivated]": ["yes", "no"],
    "attribute[consent_to_share]": ["given", "refused"],
}


def request_form(fields: list[str]) -> dict[str, Any]:
    """POST requests' form, with the constraints the service checks."""
    properties: dict[str, Any] = {name: {"type": "string"} for name in fields}
    for name, values in ATTRIBUTE_VALUES.items():
        properties[name] = {"type": "string", "enum": values}
    properties["attribute[occurred_at]"] = {"type": "string", "format": "date-time"}
    properties["media_url"] = {"type": "string", "format": "uri", "pattern": "^https?://"}
    properties["jurisdiction_id"] = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"}
    properties["lat"] = {"type": "string", "description": "WGS84 decimal degrees"}
    properties["long"] = {"type": "string", "description": "WGS84 decimal degrees"}
    return {
        "type": "object",
        "required": ["api_key", "service_code"],
        "properties": properties,
        "description": "Give lat and long, address_string or address_id.",
    }
