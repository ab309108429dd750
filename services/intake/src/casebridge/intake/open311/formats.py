"""GeoReport v2 rendering: XML (the spec's required format) and JSON, and its errors."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import xmltodict
from fastapi import Response

# Root element and item element of each XML document (JSON is a bare list or object).
ROOTS = {
    "services": ("services", "service"),
    "service_definition": ("service_definition", None),
    "service_requests": ("service_requests", "request"),
    "errors": ("errors", "error"),
    "discovery": ("discovery", None),
}


class Open311Error(Exception):
    """An error as the spec defines it: an HTTP status and a list of {code, description}."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


Format = Literal["json", "xml"]

ERRORS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}
XML = {"text/xml": {"schema": {"type": "string", "description": "the same, in XML"}}}
ERROR_STATUSES = {
    400: "A parameter or field is missing or invalid, or the body is not a form",
    403: "api_key is invalid (or missing where one is needed)",
    404: "No such service, request or token, or a jurisdiction_id not served here",
    409: "The Idempotency-Key was used with another request, or the app's area is not set up",
    413: "The request body is larger than the service accepts",
}


def documented(payload: dict[str, Any], *, created: bool = False) -> dict[int | str, Any]:
    """An operation's responses as the spec has them: the payload in JSON or XML, and its
    errors as a list of {code, description} in the same format (a database outage is the
    services' own 503 body)."""
    ok = 201 if created else 200
    responses: dict[int | str, Any] = {
        ok: {"description": "In the format asked for", "content": {
            "application/json": {"schema": payload}, **XML}},
        503: {"description": "A dependency is unavailable; retry shortly", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}},
    }  # fmt: skip
    for status, description in ERROR_STATUSES.items():
        responses[status] = {
            "description": description,
            "content": {"application/json": {"schema": ERRORS_SCHEMA}, **XML},
        }
    return responses


def _xml_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _xml_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_xml_value(v) for v in value]
    return "" if value is None else str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def render(kind: str, payload: Any, fmt: str, status: int = 200) -> Response:
    if fmt == "xml":
        root, item = ROOTS[kind]
        body = {root: {item: _xml_value(payload)} if item else _xml_value(payload)}
        text = xmltodict.unparse(body, pretty=True)
        return Response(text, status_code=status, media_type="text/xml")
    return Response(
        json.dumps(_json_value(payload)), status_code=status, media_type="application/json"
    )


def render_error(error: Open311Error, fmt: str) -> Response:
    fmt = fmt if fmt in ("json", "xml") else "json"
    return render("errors", [{"code": error.status, "description": error.description}], fmt,
                  error.status)  # fmt: skip
