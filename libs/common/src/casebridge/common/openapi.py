"""The OpenAPI document says what the API does: every operation documents the error body
it really sends (`{"error", "detail"}`; a 422's detail is `[{"field", "reason"}]`, not
FastAPI's `loc/msg/type`) and the statuses its kind of route can answer. Done once here
for every service, from what each route declares (its security, its path parameters, its
body, its dependency on the database), instead of per route.

A route that answers errors in a format of its own (Open311's list of {code, description},
OAuth's {error, error_description}) documents them itself; what it documents is kept."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
VALIDATION_REF = {"$ref": "#/components/schemas/ValidationErrorBody"}
# An operation marked so renders its own errors (Open311): no 422, nothing added.
OWN_ERRORS = "x-casebridge-own-errors"

COMPONENTS: dict[str, Any] = {
    "ErrorBody": {
        "title": "ErrorBody",
        "type": "object",
        "description": "Every error: a stable code, and a message (or a structure) saying why.",
        "required": ["error", "detail"],
        "properties": {"error": {"type": "string"}, "detail": {}},
    },
    "FieldReason": {
        "title": "FieldReason",
        "type": "object",
        "required": ["field", "reason"],
        "properties": {
            "field": {"type": "string", "description": "e.g. body.location.postcode"},
            "reason": {"type": "string"},
        },
    },
    "ValidationErrorBody": {
        "title": "ValidationErrorBody",
        "type": "object",
        "description": "422: the request was understood but a field is invalid; nothing was "
        "written.",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string", "enum": ["validation_error"]},
            "detail": {"type": "array", "items": {"$ref": "#/components/schemas/FieldReason"}},
        },
    },
}

DESCRIPTIONS = {
    "400": "The body could not be parsed (malformed JSON or form, or another media type)",
    "401": "No bearer token, or one that is invalid, expired or not for this service",
    "403": "The token lacks a scope (or role) this operation requires",
    "404": "No such resource, or none the caller's agency may see",
    "409": "The request conflicts with the current state (a step already taken, a "
    "record that already exists, an Idempotency-Key used with another request)",
    "413": "The request body is larger than the service accepts",
    "422": "A parameter or body field is invalid; nothing was written",
    "503": "A dependency (the database) is unavailable: retry shortly, with the same "
    "Idempotency-Key",
}
COMMANDS = frozenset({"post", "put", "patch", "delete"})
NO_DEPENDENCIES = frozenset({"/healthz", "/metrics"})


def api_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(path, route) of every API route, with router prefixes applied (FastAPI includes
    routers lazily: `app.routes` holds wrappers of the included routers)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from api_routes(included.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def document_errors(document: dict[str, Any], routes: Iterable[tuple[str, APIRoute]]) -> None:
    """Add the real error responses, and the roles each operation needs, to every operation
    of the document, in place."""
    routes = list(routes)
    writes = {
        (path.replace(":path}", "}"), method.lower()): _uses_database(route)
        for path, route in routes
        for method in route.methods or ()
    }
    _document_roles(document, routes)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if operation.pop(OWN_ERRORS, False):
                operation["responses"].pop("422", None)
                continue
            statuses = _statuses(path, method, operation, writes.get((path, method), False))
            _add(operation["responses"], statuses)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components.update(COMPONENTS)
    _storable_strings(document)


ROLES_EXTENSION = "x-casebridge-roles"


def _document_roles(document: dict[str, Any], routes: list[tuple[str, APIRoute]]) -> None:
    """Each operation says the roles it needs (docs/roles.md): in its description, and as
    `x-casebridge-roles` (a list, any one of which will do, or "any" with the reason)."""
    from casebridge.common.auth import AnyRole, declared_roles

    paths = document.get("paths", {})
    for path, route in routes:
        roles = declared_roles(route.dependant)
        if roles is None:
            continue
        for method in route.methods or ():
            operation = paths.get(path.replace(":path}", "}"), {}).get(method.lower())
            if not isinstance(operation, dict):
                continue
            if isinstance(roles, AnyRole):
                operation[ROLES_EXTENSION] = {"any": roles.reason}
                said = f"Any role: {roles.reason}."
            else:
                operation[ROLES_EXTENSION] = list(roles)
                said = "Needs the role " + " or ".join(f"`{r}`" for r in roles) + "."
            operation["description"] = (operation.get("description", "") + "\n\n" + said).strip()


# A string PostgreSQL can store: no NUL (every input refuses one, and the schema says so).
NO_NUL = "^[^\\x00]*$"


def _storable_strings(node: Any) -> None:
    """Every free-text string in the document gets the NUL-free pattern (a string with a
    pattern, format or list of values of its own is already narrower)."""
    if isinstance(node, list):
        for item in node:
            _storable_strings(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "string" and not {"pattern", "format", "enum", "const"} & node.keys():
        node["pattern"] = NO_NUL
    for key, value in node.items():
        if key not in ("examples", "example", "default"):
            _storable_strings(value)


def _statuses(path: str, method: str, operation: dict[str, Any], database: bool) -> set[str]:
    statuses = {"422"}  # a query string PostgreSQL cannot store is a 422 on any route
    if "requestBody" in operation:
        statuses |= {"400", "413"}
    if operation.get("security"):
        statuses |= {"401", "403"}
    if "{" in path:
        statuses.add("404")
    if database and method in COMMANDS and operation.get("security"):
        statuses.add("409")
    if path not in NO_DEPENDENCIES:
        statuses.add("503")
    return statuses


def _add(responses: dict[str, Any], statuses: set[str]) -> None:
    for status in sorted(statuses):
        existing = responses.get(status)
        fastapis = status == "422" and "HTTPValidationError" in str(existing)
        if existing is None or fastapis:
            responses[status] = _response(status)
        elif "content" not in existing:  # declared without a body: ours is the body
            existing["content"] = _response(status)["content"]
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400 and status != "422" and "content" in response:
            _or_error_body(response)  # a route's own body for the status, or any other error


def _or_error_body(response: dict[str, Any]) -> None:
    media = response["content"].get("application/json")
    if media is None or media.get("schema") == ERROR_REF:
        return
    media["schema"] = {"anyOf": [media["schema"], ERROR_REF]}


def _response(status: str) -> dict[str, Any]:
    schema = VALIDATION_REF if status == "422" else ERROR_REF
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": schema}},
    }
    if status == "503":
        response["headers"] = {
            "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
        }
    if status == "401":
        response["headers"] = {
            "WWW-Authenticate": {"description": "Bearer error=...", "schema": {"type": "string"}}
        }
    return response


def _uses_database(route: APIRoute) -> bool:
    """The route works in the request's database session (or hands work to one)."""
    from casebridge.common.db import _request_session

    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if dependency.call is _request_session:
            return True
        pending.extend(dependency.dependencies)
    return False
