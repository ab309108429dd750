"""A partner's webhook messages (scope shares:read): the dead letters owed to its own
endpoints, each with its attempts and the reason it died, and re-driving one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from casebridge.common.auth import Principal, Scoped
from casebridge.common.db import DbSession
from casebridge.sharing import webhooks
from casebridge.sharing.models import WebhookAttempt, WebhookMessage
from casebridge.sharing.schemas import WebhookAttemptRead, WebhookMessagePage, WebhookMessageRead
from casebridge.sharing.service import Slice

router = APIRouter(tags=["webhooks"])

CanReadShares = Annotated[Principal, Scoped("shares:read", role=("case_officer", "dpo"))]
PageSize = Annotated[int, Query(ge=1, le=100, description="Page size (at most 100)")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such webhook message for the caller's agency"}
}


@router.get("/webhook-dead-letters", response_model=WebhookMessagePage)
async def list_dead_letters(
    session: DbSession, who: CanReadShares, limit: PageSize = 50, cursor: UUID | None = None
) -> Slice[WebhookMessage]:
    """Webhook messages to the caller's agency whose every attempt failed, newest first."""
    return await webhooks.list_dead_letters(session, principal=who, limit=limit, cursor=cursor)


@router.get(
    "/webhook-messages/{message_id}/attempts",
    response_model=list[WebhookAttemptRead],
    responses=NOT_FOUND,
)
async def list_attempts(
    message_id: UUID, session: DbSession, who: CanReadShares
) -> Sequence[WebhookAttempt]:
    """Each POST of one message and what came of it, oldest first."""
    return await webhooks.list_attempts(session, principal=who, message_id=message_id)


@router.post(
    "/webhook-dead-letters/{message_id}/redrive",
    status_code=202,
    response_model=WebhookMessageRead,
    responses={**NOT_FOUND, 409: {"description": "the message is not dead-lettered"}},
)
async def redrive(message_id: UUID, session: DbSession, who: CanReadShares) -> WebhookMessage:
    """Post a dead letter again (same webhook-id), with all its attempts ahead of it."""
    return await webhooks.redrive(session, principal=who, message_id=message_id)
