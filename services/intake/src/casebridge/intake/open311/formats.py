"""GeoReport v2 rendering: XML (the spec's required format) and JSON, and its errors."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

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


def check_format(value: str) -> str:
    if value not in ("json", "xml"):
        raise Open311Error(400, "format must be json or xml")
    return value


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
