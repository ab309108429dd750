"""Idempotency-Key on every POST: the same key and body get the first response again; the
same key with another body is a 409. The record is written in the transaction of the
effect, so a rolled-back request leaves no key behind and a committed one always has it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Header, Request, Response
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from casebridge.common.db import DbSession
from casebridge.common.errors import AppError
from casebridge.intake.errors import IdempotencyKeyReused
from casebridge.intake.models import IdempotencyRecord

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
REPLAYED_HEADER = "Idempotent-Replayed"


class BadIdempotencyKey(AppError):
    status_code = 422
    code = "validation_error"

    def __init__(self) -> None:
        super().__init__(
            [{"field": "header.idempotency-key", "reason": "must be 1-200 printable characters"}]
        )


def fingerprint(method: str, path: str, content_type: str, body: bytes) -> str:
    """The same request in another byte order (JSON keys, form fields) is the same."""
    canonical: bytes = body
    try:
        if "json" in content_type:
            canonical = json.dumps(json.loads(body), sort_keys=True).encode()
        elif "form" in content_type:
            canonical = json.dumps(sorted(parse_qsl(body.decode()))).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(f"{method} {path}\n".encode() + canonical).hexdigest()


@dataclass
class Idempotency:
    session: AsyncSession
    key: str | None
    request_sha256: str

    async def run(self, produce: Callable[[], Awaitable[Response]], *, caller: str) -> Response:
        if self.key is None:
            return await produce()
        claimed = await self.session.scalar(
            insert(IdempotencyRecord)
            .values(caller=caller, key=self.key, request_sha256=self.request_sha256)
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.key)
        )
        if claimed is None:
            return await self._replay(caller)
        response = await produce()
        record = await self.session.get(IdempotencyRecord, (caller, self.key))
        assert record is not None
        record.status_code = response.status_code
        record.media_type = response.media_type or "application/json"
        record.body = bytes(response.body).decode()
        await self.session.flush()
        return response

    async def _replay(self, caller: str) -> Response:
        record = await self.session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.caller == caller, IdempotencyRecord.key == self.key
            )
        )
        assert record is not None
        if record.request_sha256 != self.request_sha256:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request; use a new key"
            )
        return Response(
            content=record.body or "",
            status_code=record.status_code,
            media_type=record.media_type,
            headers={REPLAYED_HEADER: "true"},
        )


async def _idempotency(
    request: Request,
    session: DbSession,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Send the same key to retry safely: the first response is returned "
            "again. Another request body with the same key is a 409.",
            max_length=200,
        ),
    ] = None,
) -> Idempotency:
    if idempotency_key is None:
        # Nothing to compare a retry with: skip hashing the body.
        return Idempotency(session, None, "")
    if not _KEY.match(idempotency_key):
        raise BadIdempotencyKey
    body = await request.body()
    sha = fingerprint(
        request.method, request.url.path, request.headers.get("content-type", ""), body
    )
    return Idempotency(session, idempotency_key, sha)


Idempotent = Annotated[Idempotency, Depends(_idempotency)]
