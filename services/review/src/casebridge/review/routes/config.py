"""The area's case review procedure: read it, and publish a new version as YAML."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError

from casebridge.common.db import DbSession
from casebridge.review import areas
from casebridge.review.config import ConfigInvalid
from casebridge.review.models import AreaConfig
from casebridge.review.routes.common import CanAdminister, CanRead
from casebridge.review.schemas import AreaConfigRead

router = APIRouter(tags=["area procedure"])


YAML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/yaml": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/config",
    response_model=AreaConfigRead,
    responses={404: {"description": "the caller's area has no procedure configured yet"}},
)
async def read_config(session: DbSession, who: CanRead) -> AreaConfig:
    """The procedure in force in the caller's area."""
    return await areas.get_config(session, principal=who)


@router.put("/config", status_code=201, response_model=AreaConfigRead, openapi_extra=YAML_BODY)
async def publish_config(request: Request, session: DbSession, who: CanAdminister) -> AreaConfig:
    """Publish a new version of the caller's area procedure (YAML; 422 with field reasons)."""
    document = await _yaml_text(request)
    try:
        return await areas.save_config(
            session, area_id=who.area_id, document=document, author=who.subject
        )
    except ConfigInvalid as exc:
        raise RequestValidationError(
            [{"loc": ("body", *r["field"].split(".")), "msg": r["reason"]} for r in exc.reasons]
        ) from exc


async def _yaml_text(request: Request) -> str:
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "the document must be UTF-8"}]
        ) from exc
    if "\x00" in text or not text.strip():
        raise RequestValidationError([{"loc": ("body",), "msg": "an empty or binary document"}])
    return text
