"""One error shape for every service: {"error": code, "detail": ...}."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from casebridge.common.events.errors import is_infrastructure_error

log = logging.getLogger(__name__)


class AppError(Exception):
    """A business-rule failure with an HTTP status and a stable code."""

    status_code = 400
    code = "bad_request"

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail if detail is not None else self.code.replace("_", " ")
        self.headers = headers


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Unauthorized(AppError):
    status_code = 401
    code = "invalid_token"

    def __init__(self, detail: Any = None) -> None:
        desc = str(detail or "invalid token").replace('"', "'")
        super().__init__(
            detail,
            headers={
                "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{desc}"'
            },
        )


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


def error_body(code: str, detail: Any) -> dict[str, Any]:
    return {"error": code, "detail": detail}


def _storable(part: object) -> str:
    """A field's name as text a client can store: a NUL (a key in a YAML or JSON body may
    spell one) is written as `\\x00`, as the OpenAPI document's FieldReason promises."""
    return str(part).replace("\x00", "\\x00")


def _field_reasons(exc: RequestValidationError) -> list[dict[str, str]]:
    reasons = []
    for err in exc.errors():
        loc = [_storable(part) for part in err.get("loc", ())]
        reasons.append({"field": ".".join(loc), "reason": str(err.get("msg", "invalid"))})
    return reasons


HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return JSONResponse(
        error_body(exc.code, exc.detail), status_code=exc.status_code, headers=exc.headers
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    unparsed = [e for e in exc.errors() if e.get("type") == "json_invalid"]
    if unparsed:  # not a request with an invalid field: no request at all
        reason = str(unparsed[0].get("ctx", {}).get("error", "invalid JSON"))
        return JSONResponse(
            error_body("malformed_body", f"the body is not valid JSON: {reason}"), status_code=400
        )
    return JSONResponse(error_body("validation_error", _field_reasons(exc)), status_code=422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, exc.detail), status_code=exc.status_code, headers=exc.headers
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_infrastructure_error(exc):
        # Nothing was committed; the client may safely retry (with its Idempotency-Key).
        log.warning(
            "dependency unavailable on %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
        )
        return JSONResponse(
            error_body("service_unavailable", "a dependency is unavailable; retry shortly"),
            status_code=503,
            headers={"Retry-After": "2"},
        )
    # Never leak a trace or SQL to the client (API8); the log has it.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Database and network failures get their own handlers: ExceptionMiddleware answers
    # them without re-raising, so an outage is a 503, not a 500 with a trace in the log.
    app.add_exception_handler(DBAPIError, _unexpected)
    # ... and so do the driver's own, from statements run on the asyncpg connection itself.
    app.add_exception_handler(asyncpg.PostgresError, _unexpected)
    app.add_exception_handler(asyncpg.InterfaceError, _unexpected)
    app.add_exception_handler(asyncpg.InternalClientError, _unexpected)
    app.add_exception_handler(OSError, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
